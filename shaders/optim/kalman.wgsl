// kalman: the moment filter made explicit. The true gradient random-walks with variance
// q and is seen with noise variance r_hat, itself tracked by an EMA of the excess
// innovation. Step: theta -= lr m / (sqrt(m^2 + P + r_hat) + eps).
@group(0) @binding(6) var<storage, read_write> m: array<f32>;
@group(0) @binding(7) var<storage, read_write> p: array<f32>;
@group(0) @binding(8) var<storage, read_write> r_hat: array<f32>;

fn update(i: u32, g: f32, c: Consts) {
    let prior = p[i] + c.q;
    let e = g - m[i];
    let r = c.beta2 * r_hat[i] + c.one_minus_beta2 * max(e * e - prior, c.r_min);
    let gain = prior / (prior + r);
    let mi = m[i] + gain * e;
    // (1 - K) P- written as K r: no cancellation when K is near 1.
    let pi = gain * r;
    m[i] = mi;
    p[i] = pi;
    r_hat[i] = r;
    theta[i] = theta[i] - c.lr * mi / (sqrt(mi * mi + pi + r) + c.eps);
}
