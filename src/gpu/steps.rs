//! Long simulations in windows of steps: one dispatch runs steps [begin, end) and
//! leaves its state in buffers for the next, so that no dispatch runs long enough to
//! trip a display driver's watchdog (about 2 s on desktops) and none outruns a
//! software adapter's loop limit.

use super::Gpu;
use crate::error::{Error, Result};
use std::time::Instant;

/// Steps in the first window, before any timing is known.
const FIRST_WINDOW: u64 = 64;
/// The wall time each later window aims at.
const WINDOW_SECONDS: f64 = 0.2;
const MAX_WINDOW: u64 = 1 << 20;

impl Gpu {
    /// Runs `total` steps through `dispatch(begin, end)`, one dispatch per window. Each
    /// window is sized from the last one's wall time to take about 0.2 s; `fixed`
    /// forces a window length (tests use it to show that windows change no bit). On an
    /// adapter with a loop budget no window holds more than the budget allows at
    /// `loops_per_step` loop iterations per step, and a single step that exceeds it
    /// is refused, naming `what`. No window crosses a step in `breaks` (a window ends
    /// there, so the caller can act between windows: read back, decide, write).
    pub fn run_in_windows(
        &self,
        total: u64,
        loops_per_step: u64,
        fixed: Option<u64>,
        what: &str,
        breaks: &[u64],
        mut dispatch: impl FnMut(u64, u64) -> Result<()>,
    ) -> Result<()> {
        let max_window = match self.loop_budget() {
            Some(budget) if loops_per_step > budget => {
                return Err(Error::LoopBudget {
                    what: what.to_string(),
                    per_step: loops_per_step,
                    budget,
                });
            }
            Some(budget) => (budget / loops_per_step.max(1)).max(1),
            None => MAX_WINDOW,
        };
        let mut begin = 0u64;
        let mut steps = fixed
            .unwrap_or(FIRST_WINDOW)
            .clamp(1, total.max(1))
            .min(max_window);
        while begin < total {
            if crate::interrupt::requested() {
                // The caller knows how far it got; the chunk is abandoned whole.
                return Err(Error::Interrupted { done: 0, total: 0 });
            }
            let next_break = breaks.iter().copied().filter(|&b| b > begin).min();
            let end = (begin + steps)
                .min(total)
                .min(next_break.unwrap_or(u64::MAX));
            let t0 = Instant::now();
            dispatch(begin, end)?;
            let per_step = t0.elapsed().as_secs_f64() / (end - begin) as f64;
            steps = fixed
                .unwrap_or(((WINDOW_SECONDS / per_step.max(1e-9)) as u64).clamp(1, MAX_WINDOW))
                .min(max_window);
            begin = end;
        }
        Ok(())
    }
}
