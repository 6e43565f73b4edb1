import CTrainingLab

/// Bilinear sampling of `input` (N, C, H, W) at `grid` (N, Ho, Wo, 2) -> (N, C, Ho, Wo), PyTorch's
/// grid_sample with mode "bilinear" and padding "zeros": the grid's last axis holds normalised (x, y) in
/// [-1, 1]; alignCorners maps ±1 to the centres of the corner pixels instead of their outer edges; samples
/// outside the input read zeros. Differentiable in both the input and the grid.
public func gridSample(_ input: Tensor, grid: Tensor, alignCorners: Bool = false) throws -> Tensor {
    guard input.rank == 4, grid.rank == 4, grid.shape[3] == 2, grid.shape[0] == input.shape[0],
          input.shape[2] > 0, input.shape[3] > 0 else {
        throw TensorError("gridSample: needs input (N, C, H, W) with H, W > 0 and grid (N, Ho, Wo, 2), got \(input.shape) and \(grid.shape)")
    }
    let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let (ho, wo) = (grid.shape[1], grid.shape[2])
    let align: Int32 = alignCorners ? 1 : 0
    let y = Tensor(uninitializedShape: [n, c, ho, wo])
    try tlCheck(tl_grid_sample_forward(y.pointer, input.pointer, grid.pointer, n, c, h, w, ho, wo, align))
    return y.recording("grid_sample", inputs: [input, grid]) { g, _, needs in
        let dx = needs[0] ? Tensor(uninitializedShape: input.shape) : nil
        let dgrid = needs[1] ? Tensor(uninitializedShape: grid.shape) : nil
        try tlCheck(tl_grid_sample_backward(dx?.pointer, dgrid?.pointer, g.pointer, input.pointer, grid.pointer,
                                            n, c, h, w, ho, wo, align))
        return [dx, dgrid]
    }
}
