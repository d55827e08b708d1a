// r/h of the optimal feedback (spec §2, g = 1): r = (−γ + sqrt(γ² + 4ηk h))/2, written
// so that it neither cancels for small h nor divides by h. Rust: landscape::cpu::control_gain.
fn control_gain(h: f32, gamma: f32, eta_k: f32) -> f32 {
    return 2.0 * eta_k / (gamma + sqrt(gamma * gamma + 4.0 * eta_k * h));
}
