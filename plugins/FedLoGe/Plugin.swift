import TrainingLab

@_cdecl("tl_plugin_handshake")
public func pluginHandshake(_ fingerprint: UnsafeMutablePointer<CChar>?, _ capacity: Int32) -> Int32 {
    PluginHandshake.answer(fingerprint, capacity)
}

@_cdecl("tl_plugin_entry")
public func pluginEntry() -> UnsafeMutableRawPointer {
    PluginRegistration(FedLoGe.self).retainedPointer
}
