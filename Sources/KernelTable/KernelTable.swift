/// The one table of the core's kernels (include/tl_*.h): one row per forward/backward pair, with its test
/// shapes, bench shapes, plain reference, tolerances, finite-difference step and work. The kernel tests
/// (Tests/CoreKernelTests/KernelTableTests.swift) run every row; `tlab bench` times every row's bench
/// shapes after validating them. This module is linked into the tests and the tool only, so
/// libTrainingLab.so does not carry the references.
public enum KernelTable {
    public static var rows: [KernelRow] {
        gemm + conv + pool + norm + act + loss + optim + quant + sparse + lif + augment + explog + tensor + sample + linalg + ops + rng
    }

    /// Functions of include/*.h that have no row, and why (a name ending in * stands for every name it starts).
    public static let leftOut: [(functions: [String], reason: String)] = [
        (["tl_sgemm_openblas_direct"], "the benchmark's OpenBLAS reference for tl_sgemm, not a kernel of its own"),
        (["tl_bench_triad"], "the STREAM bandwidth reference of the benchmark"),
        (["tl_conv2d_output_size", "tl_conv2d_algorithms", "tl_conv2d_set_mode", "tl_conv2d_release_scratch", "tl_pool2d_output_size"],
         "shape arithmetic and implementation switches, which the conv and pool rows use (ConvTests, PoolTests check them)"),
        (["tl_sparse_groups_check"], "descriptor validation that every group kernel runs (SparseTests checks its messages)"),
        (["tl_philox4x32_10", "tl_rng_block", "tl_rng_u32", "tl_u32_to_unit"],
         "the inline generator the references themselves use (RNGTests checks published known answers)"),
        (["tl_cpu_*", "tl_isa_name", "tl_kernel_isa", "tl_isa_setting_check", "tl_gemm_kernel_name", "tl_blas_*", "tl_io_*", "tl_status_string", "tl_last_error", "tl_fail",
          "tl_set_last_error", "tl_set_num_threads", "tl_get_num_threads", "tl_alloc", "tl_free", "tl_core_library_path"],
         "platform, memory, errors and threads: not numeric kernels"),
        (["tl_methods_list", "tl_method_describe", "tl_run_*", "tl_model_*", "tl_version", "tl_set_plugin_path", "tl_string_free", "tl_plugin_*"],
         "the host and plugin API (traininglab.h, tl_plugin.h), tested by the C client and the plugin tests"),
        (["tl_mpi_transport_table"], "the MPI transport of the separately loaded backend library (tl_mpi.h), tested over mpirun by MPIRunTests"),
    ]
}

/// The plain references of the rows, in Double, written from the definitions in the headers. Public so
/// that the hand-written tests that check more than the table (edge semantics, known values) use the
/// same ones instead of copies.
public enum Reference {}
