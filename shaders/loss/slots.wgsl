// The three functions loss/point.wgsl asks of a driver, written once for every driver
// that keeps the landscape's record at `shape.land`, its shared data in `data` and each
// point's coordinates in workgroup memory `sh_theta` from `pt.base`: the learners'
// sweep (landscape/sweep.wgsl), the point evaluator (loss/points.wgsl) and the path
// kernel (control/path.wgsl).
// needs: loss/point.wgsl

fn land() -> Land {
    return shape.land;
}

fn land_data(i: u32) -> f32 {
    return data[i];
}

fn point_coord(pt: Point, j: u32) -> f32 {
    return sh_theta[pt.base + j];
}
