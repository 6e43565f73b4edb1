import TrainingLab

// A test fixture, not a method: the tests load it by its file name; folder scans skip it.
@_cdecl("tl_plugin_test_fixture")
public func pluginTestFixture() -> Int32 { 1 }

@_cdecl("tl_plugin_handshake")
public func pluginHandshake(_ fingerprint: UnsafeMutablePointer<CChar>?, _ capacity: Int32) -> Int32 {
    PluginHandshake.answer(fingerprint, capacity)
}

@_cdecl("tl_plugin_entry")
public func pluginEntry() -> UnsafeMutableRawPointer {
    PluginRegistration(methods: [FixturePair.self], models: [FixtureModels.mlp], datasetDerivations: [FixtureData.groups],
                       augmentations: [FixtureAugmentations.shift],
                       metrics: [FixtureData.confidence], operations: [FixtureOperations.squaredGap]).retainedPointer
}
