// Per-group (optim) or per-learner (landscape sweeps) constants of one step, derived on
// the host in f64 (src/optim/mod.rs, Consts). Momentum rules read their coefficient
// from beta1.

struct Consts {
    lr: f32,
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    eps: f32,
    bc1: f32,
    bc2: f32,
    decay: f32,
    prior_keep: f32,
    prior_add: f32,
    batch: f32,
    inv_eta2: f32,
    inv_2sigma2: f32,
    inv_4sigma4: f32,
    q: f32,
    r_min: f32,
    // control rules (landscape family): the discount γ and η·k.
    ctl_gamma: f32,
    ctl_eta_k: f32,
    _pad0: f32,
}

// The per-parameter state a rule carries: theta and up to three filter states, in the
// order Member::states names them.
struct State {
    theta: f32,
    s0: f32,
    s1: f32,
    s2: f32,
}
