// The C core is part of the public surface: `import TrainingLab` also gives the tl_* kernels.
@_exported import CTrainingLab
