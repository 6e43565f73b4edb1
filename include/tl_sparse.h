/* TrainingLab core: sparsity. Unstructured masks (apply, magnitude top-k per tensor and global) and
   structured groups that span several tensors (group L2 norms and inner products, group zeroing, group
   axpy and the half-space projection of OTOv2's DHSPG).

   Masks are uint8_t, one per element: 0 = pruned, anything else = kept.

   Groups (e.g. OTOv2's zero-invariant groups): a group is a list of segments over an array of tensors;
   segment {tensor, start, count, stride, block} covers the elements
       tensors[tensor][start + j * stride + b]   for j < count, b < block,
   i.e. `count` contiguous blocks of `block` floats whose starts are `stride` apart. Examples for output
   channel c of conv1 (Cout, Cin, k, k) followed by BN (gamma, beta) and conv2 (Cout2, Cout, k2, k2):
       conv1 filter c:         {conv1, c * Cin*k*k,  1,     0,            Cin*k*k}
       BN gamma c, beta c:     {gamma, c, 1, 0, 1}, {beta, c, 1, 0, 1}   (conv bias c likewise)
       conv2 input channel c:  {conv2, c * k2*k2,    Cout2, Cout*k2*k2,   k2*k2}
       linear after flatten:   {fc,    c * H*W,      Out,   C*H*W,        H*W}
   The descriptor is a CSR list: group g owns segments[group_offsets[g] .. group_offsets[g+1]).
   The same descriptor serves every set of tensors with the same layout (weights, gradients, momenta),
   so the data pointers are passed separately from it. Every call validates the descriptor against
   tensor_sizes (O(segments)); segments must not overlap within a group (an element would count twice).
   Group kernels run in parallel over groups; each group is reduced by one thread in a fixed order (double
   accumulation in eight lanes plus a tail, see tl_sparse.c), so results are bitwise identical for any number of
   threads.

   OTOv2's DHSPG (otov2.md B.3-B.6) composes from these kernels; only the half-space test itself is a group
   kernel, the rest is a handful of scalars per group that the optimiser computes: for the groups of G_p,
     tl_sparse_group_stats(x, d)            -> <x_g, d_g>, ||x_g||^2, ||d_g||^2 (lambda_lo, lambda_hi, lambda_g)
     hx = x - lr * d                         (element-wise trial step of the optimiser)
     tl_sparse_group_axpy(hx, x, alpha)     alpha_g = -lr * lambda_g / ||x_g|| (0 for groups outside G_p)
     tl_sparse_group_half_space_project(hx, x, active = G_p, epsilon)
     tl_sparse_group_zero(hx, frozen)        groups that are already zero stay zero
   and the global group sparsity comes from tl_sparse_group_norms (count of zero norms). */
#ifndef TL_SPARSE_H
#define TL_SPARSE_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tl_group_segment {
    tl_size tensor; /* index into the tensor array, in [0, num_tensors) */
    tl_size start;  /* first element */
    tl_size count;  /* number of blocks, >= 0 */
    tl_size stride; /* elements between the starts of consecutive blocks, >= 0 */
    tl_size block;  /* contiguous elements per block, >= 1 */
} tl_group_segment;

typedef struct tl_groups {
    tl_size num_tensors;
    const tl_size *tensor_sizes;        /* (num_tensors) elements of each tensor, for bounds checks */
    tl_size num_groups;
    const tl_size *group_offsets;       /* (num_groups + 1), non-decreasing, group_offsets[0] = 0 */
    const tl_group_segment *segments;   /* (group_offsets[num_groups]) */
} tl_groups;

/* w (n) and g (n) set to 0 where mask (n) == 0, in place; either w or g may be NULL (not both). n = 0 is a no-op. */
int tl_sparse_mask_apply(float *w, float *g, const uint8_t *mask, tl_size n);

/* *count = number of non-zero elements of x (n) (NaN counts as non-zero); density = count / n. */
int tl_sparse_count_nonzero(tl_size *count, const float *x, tl_size n);

/* mask (n) = 1 for the k largest |w (n)|, else 0; ties at the threshold go to the lower index; NaN ranks above +inf. 0 <= k <= n. */
int tl_sparse_topk_mask(uint8_t *mask, const float *w, tl_size n, tl_size k);

/* masks[t] (sizes[t]) = 1 for the k largest |w| over all tensors w[t] (sizes[t]) together; ties go to the lower (t, index); 0 <= k <= sum sizes. */
int tl_sparse_topk_mask_global(uint8_t *const *masks, const float *const *w, const tl_size *sizes, tl_size num_tensors, tl_size k);

/* Validate a group descriptor (segment bounds, offsets); every group kernel also does this itself. */
int tl_sparse_groups_check(const tl_groups *groups);

/* norms (G) = L2 norm of each group of the tensors x (layout in groups); empty groups give 0. */
int tl_sparse_group_norms(float *norms, const tl_groups *groups, const float *const *x);

/* xx (G) = sum x_g^2, yy (G) = sum y_g^2, xy (G) = sum x_g*y_g in double over each group of x and y (same layout); any output may be NULL; y may be NULL when yy and xy are. */
int tl_sparse_group_stats(double *xx, double *yy, double *xy, const tl_groups *groups, const float *const *x, const float *const *y);

/* x_g = 0 in place for every group g with selected[g] != 0 (selected (G); NULL = every group). */
int tl_sparse_group_zero(const tl_groups *groups, float *const *x, const uint8_t *selected);

/* y_g += alpha[g] * x_g in place for every group (alpha (G)); groups with alpha[g] == 0 are left untouched (e.g. DHSPG's x_g/||x_g|| step: alpha = -lr*lambda_g/||x_g||). */
int tl_sparse_group_axpy(const tl_groups *groups, float *const *y, const float *const *x, const float *alpha);

/* OTOv2 DHSPG half-space projection: for each group with active[g] != 0 (NULL = all): if <hx_g, x_g> < epsilon * ||x_g||^2 then hx_g = 0 in place; zeroed (G) optional output (1 where projected). hx = trial point, x = current point (not aliased). Groups with x_g = 0 never pass the strict test: keep them zero with tl_sparse_group_zero. 0 <= epsilon < 1. */
int tl_sparse_group_half_space_project(uint8_t *zeroed, const tl_groups *groups, float *const *hx, const float *const *x,
                                       const uint8_t *active, float epsilon);

#ifdef __cplusplus
}
#endif
#endif
