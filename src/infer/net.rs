//! The rule network's shape: its sizes (MLP layers, GRU units, skip), the GLM's K
//! weights and the rule's inputs, and where each parameter lives in the flat vector φ.

/// Weights of the GLM: stimulus and bias.
pub const K: usize = 2;
/// The rule's inputs: w (K), s, 1, d, y, r, z.
pub const INPUTS: usize = K + 6;

/// The model's sizes and where each parameter lives in the flat vector φ: with a GRU
/// (the rnn model, `gru` > 0 units) its parameters first (see [`super::rnn`]); then the
/// MLP, per layer W (row-major, out × in) then b; the output layer; then c (K). The
/// dnn's MLP reads the rule's inputs, the rnn's the GRU's state (and with `skip` the
/// rule's inputs after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    pub hidden: usize,
    pub layers: usize,
    /// GRU units; 0 for the dnn model.
    pub gru: usize,
    /// The rnn's MLP also reads the trial's own inputs beside the GRU's state, so the
    /// rnn holds the dnn (a GRU that says nothing leaves the dnn's rule).
    pub skip: bool,
}

impl Net {
    /// The dnn model: an MLP of `layers` × `hidden` on the rule's inputs.
    pub fn dnn(hidden: usize, layers: usize) -> Net {
        Net {
            hidden,
            layers,
            gru: 0,
            skip: false,
        }
    }

    /// The model's name in files and messages.
    pub fn model(&self) -> &'static str {
        if self.gru > 0 {
            "rnn"
        } else {
            "dnn"
        }
    }

    /// Floats the MLP reads: the rule's inputs (dnn), or the GRU's state (rnn), then
    /// with `skip` the rule's inputs.
    pub fn mlp_inputs(&self) -> usize {
        match (self.gru, self.skip) {
            (0, _) => INPUTS,
            (g, false) => g,
            (g, true) => g + INPUTS,
        }
    }

    /// (in, out) of layer l (0..layers hidden, then the output layer).
    pub fn dims(&self, l: usize) -> (usize, usize) {
        let input = if l == 0 {
            self.mlp_inputs()
        } else {
            self.hidden
        };
        let output = if l == self.layers { K } else { self.hidden };
        (input, output)
    }

    /// Offset of layer l's W in φ (its b follows W).
    pub fn offset(&self, l: usize) -> usize {
        gru_len(self.gru)
            + (0..l)
                .map(|i| {
                    let (a, b) = self.dims(i);
                    a * b + b
                })
                .sum::<usize>()
    }

    /// Offset of c in φ.
    pub fn c_offset(&self) -> usize {
        self.offset(self.layers + 1)
    }

    /// Length of φ (the MLP and c).
    pub fn len(&self) -> usize {
        self.c_offset() + K
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Floats of activations one trial keeps for the backward pass.
    pub fn acts(&self) -> usize {
        self.layers * self.hidden
    }
}

/// Floats of the GRU's parameters at the start of φ (0 without a GRU).
pub fn gru_len(g: usize) -> usize {
    if g == 0 {
        0
    } else {
        3 * g * INPUTS + 3 * g * g + 6 * g
    }
}
