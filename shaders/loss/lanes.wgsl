// The sum of a value over a point's lanes, as a tree in workgroup memory: lane 0 and
// the lanes stride apart add pairwise, so every driver sums a loss in the same order.
// Every thread of the workgroup calls it, in uniform control flow (it holds barriers);
// each gets its point's total.

var<workgroup> lane_sums: array<f32, 256>;

fn sum_over_lanes(lid: u32, lane: u32, lanes: u32, value: f32) -> f32 {
    lane_sums[lid] = value;
    for (var stride = lanes / 2u; stride > 0u; stride = stride / 2u) {
        workgroupBarrier();
        if (lane < stride) {
            lane_sums[lid] = lane_sums[lid] + lane_sums[lid + stride];
        }
    }
    workgroupBarrier();
    let total = lane_sums[lid - lane];
    // The next call overwrites the sums.
    workgroupBarrier();
    return total;
}
