/* TrainingLab core: batch augmentation fused with the gather from a uint8 image store.
   One pass per batch: gather by sample index, uint8 -> float in [0, 1], geometric transform, per-channel
   normalisation. Sample b draws its random numbers from Philox blocks keyed by (seed, counter + index of b),
   where the index is indices[b] (or b when indices is NULL): a sample's augmentation depends only on
   (seed, counter, its index), never on its batch position or the number of threads, so the kernels are
   bitwise deterministic. Use a different seed (or counter) per epoch and per view to draw fresh transforms. */
#ifndef TL_AUGMENT_H
#define TL_AUGMENT_H

#include "tl_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out (B,C,H,W) float = normalise(flip(crop(images[indices[b]]))) from images (N,C,H,W) uint8; indices[B] in
   [0, N), or NULL for images 0..B-1 (then B <= N). Crop: zero-pad by `pad` on every side, then take the HxW
   window at offsets (dy, dx) uniform in [0, 2 pad] (torchvision RandomCrop(H, padding=pad), fill 0 in pixel
   space); pad = 0 disables it. Flip: mirror left-right with probability flip_prob (0 disables).
   Normalise: (pixel / 255 - mean[c]) / std[c]; mean NULL means 0, std NULL means 1 (std[c] > 0).
   B = 0 is a no-op. Evaluation = pad 0, flip_prob 0. */
int tl_augment_crop_flip(float *out, const uint8_t *images, const int64_t *indices, const float *mean,
                         const float *std, tl_size N, tl_size B, tl_size C, tl_size H, tl_size W, tl_size pad,
                         float flip_prob, uint64_t seed, uint64_t counter);

/* tl_augment_crop_flip over a float store: samples (N,C,H,W) float, normalised as (value - mean[c]) / std[c]
   (no division by 255); the padding is 0 in stored units. With pad 0, flip_prob 0 and mean = std = NULL it is
   a plain gather (one copy per sample), so any sample shape can pass as (C = 1, H = 1, W = elements). */
int tl_augment_crop_flip_f32(float *out, const float *samples, const int64_t *indices, const float *mean,
                             const float *std, tl_size N, tl_size B, tl_size C, tl_size H, tl_size W, tl_size pad,
                             float flip_prob, uint64_t seed, uint64_t counter);

/* out (B,C,OH,OW) float = normalise(flip(resize(crop(images[indices[b]])))) from images (N,C,H,W) uint8,
   torchvision RandomResizedCrop(scale=(scale_min, scale_max), ratio=(ratio_min, ratio_max)) + RandomHorizontalFlip:
   up to 10 draws of area fraction s ~ U(scale_min, scale_max) and log aspect ~ U(log ratio_min, log ratio_max),
   w = round(sqrt(s H W r)), h = round(sqrt(s H W / r)); the first that fits is placed uniformly; else a centre
   crop clamped to the ratio range. The crop is resized bilinearly with half-pixel centres (align_corners=False)
   and no antialiasing, which is exact whenever the crop is not larger than the output (e.g. OH = H, OW = W).
   indices, mean, std, B = 0 and flip_prob as in tl_augment_crop_flip. */
int tl_augment_resized_crop(float *out, const uint8_t *images, const int64_t *indices, const float *mean,
                            const float *std, tl_size N, tl_size B, tl_size C, tl_size H, tl_size W, tl_size OH,
                            tl_size OW, float scale_min, float scale_max, float ratio_min, float ratio_max,
                            float flip_prob, uint64_t seed, uint64_t counter);

/* hist (C,256) int64 = per-channel counts of each byte value in images (N,C,P) uint8 (P = H*W pixels per plane),
   from which the normalisation mean and std are computed exactly. N = 0 gives zero counts. */
int tl_augment_channel_histogram(int64_t *hist, const uint8_t *images, tl_size N, tl_size C, tl_size P);

#ifdef __cplusplus
}
#endif
#endif
