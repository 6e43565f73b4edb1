import CTrainingLab

/// TrainingLab's version, defined once: `tlab --version` prints it and the C API reports it, so a run folder or a
/// bug report names the same string whichever door was used.
public enum TrainingLabVersion {
    public static let string = TL_VERSION  // include/tl_plugin.h
}
