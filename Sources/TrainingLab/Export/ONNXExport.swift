import Foundation

/// A saved model as an ONNX file (IR 7, opset 13), written field by field with `ProtobufMessage` (no
/// protobuf dependency). The graph takes what `tlab predict` and tl_model_predict take: "input" (N, C, H, W)
/// as the data pipeline holds it (uint8 pixels / 255), normalises it with the card's mean and std (Sub, Div),
/// runs the layers and returns "logits" (N, classes). Initializers carry the model file's portable names
/// ("1.running_mean"), the card is in metadata_props.
///
/// Exported layers: Conv2d (Conv), BatchNorm (BatchNormalization), GroupNorm with one channel per group
/// (InstanceNormalization), ReLU / leaky ReLU / sigmoid / tanh, MaxPool2d, AvgPool2d without padding
/// (AveragePool), GlobalAvgPool2d (GlobalAveragePool + Flatten), Flatten, Linear (Gemm), Dropout (identity at
/// inference), ResidualBlock (its convolutions, Add, Relu) and Sequential. Anything else is refused by name.
public enum ONNXExport {
    public static let opset = 13
    static let irVersion = 7

    public static func write(_ saved: SavedModel, to url: URL) throws {
        try AtomicFile.write(Data(try encode(saved)), to: url)
    }

    /// The bytes of the ModelProto.
    public static func encode(_ saved: SavedModel) throws -> [UInt8] {
        var graph = ONNXGraph()
        var x = "input"
        let card = saved.card
        if !card.mean.isEmpty {
            let perChannel = [1, card.mean.count] + [Int](repeating: 1, count: card.inputShape.count - 1)
            x = graph.node("Sub", [x, graph.constant("normalization.mean", card.mean, perChannel)])
            x = graph.node("Div", [x, graph.constant("normalization.std", card.std, perChannel)])
        }
        x = try graph.add(saved.model, input: x, path: "")
        graph.node("Identity", [x], output: "logits")

        var body = ProtobufMessage()
        for node in graph.nodes { body.message(1, node) }                     // GraphProto.node
        body.string(2, card.model ?? "model")                                 // GraphProto.name
        for tensor in graph.initializers { body.message(5, tensor) }          // GraphProto.initializer
        body.message(11, valueInfo("input", [nil] + card.inputShape))         // GraphProto.input
        body.message(12, valueInfo("logits", [nil, card.classes]))            // GraphProto.output

        var model = ProtobufMessage()
        model.int(1, irVersion)                                               // ModelProto.ir_version
        model.string(2, "TrainingLab")                                        // producer_name
        model.string(3, card.version)                                         // producer_version
        model.message(7, body)                                                // graph
        var opsetID = ProtobufMessage()
        opsetID.string(1, "")                                                 // OperatorSetIdProto.domain (the default one)
        opsetID.int(2, opset)                                                 // version
        model.message(8, opsetID)                                             // opset_import
        for (key, value) in card.metadata.sorted(by: { $0.key < $1.key }) {
            var entry = ProtobufMessage()
            entry.string(1, key)
            entry.string(2, value)
            model.message(14, entry)                                          // metadata_props
        }
        return model.bytes
    }

    /// A float tensor's ValueInfoProto; nil dimensions are the symbolic batch size "N".
    static func valueInfo(_ name: String, _ dims: [Int?]) -> ProtobufMessage {
        var shape = ProtobufMessage()
        for d in dims {
            var dim = ProtobufMessage()
            if let d { dim.int(1, d) } else { dim.string(2, "N") }            // Dimension.dim_value / dim_param
            shape.message(1, dim)                                             // TensorShapeProto.dim
        }
        var tensorType = ProtobufMessage()
        tensorType.int(1, ONNXGraph.float)                                    // TypeProto.Tensor.elem_type
        tensorType.message(2, shape)                                          // shape
        var type = ProtobufMessage()
        type.message(1, tensorType)                                           // TypeProto.tensor_type
        var info = ProtobufMessage()
        info.string(1, name)                                                  // ValueInfoProto.name
        info.message(2, type)                                                 // type
        return info
    }
}

/// An ONNX attribute value: one int, one float or a list of ints.
enum ONNXAttribute {
    case int(Int)
    case float(Float)
    case ints([Int])
}

/// The nodes and initializers of a graph under construction, in topological order.
struct ONNXGraph {
    /// TensorProto.DataType FLOAT.
    static let float = 1
    private(set) var nodes: [ProtobufMessage] = []
    private(set) var initializers: [ProtobufMessage] = []
    private var count = 0

    /// Adds an initializer (a TensorProto with raw little-endian data) and returns its name.
    mutating func constant(_ name: String, _ values: [Float], _ shape: [Int]) -> String {
        var tensor = ProtobufMessage()
        for d in shape { tensor.int(1, d) }                                   // TensorProto.dims
        tensor.int(2, ONNXGraph.float)                                        // data_type
        tensor.string(8, name)                                                // name
        tensor.data(9, values.withUnsafeBytes { Array($0) })                  // raw_data (x86-64: little-endian)
        initializers.append(tensor)
        return name
    }

    mutating func constant(_ name: String, _ tensor: Tensor) -> String { constant(name, tensor.scalars, tensor.shape) }

    /// Adds a node and returns the name of its output (fresh unless given).
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], _ attributes: [(String, ONNXAttribute)] = [], output: String? = nil) -> String {
        count += 1
        let out = output ?? "\(op.lowercased())_\(count)"
        var node = ProtobufMessage()
        for input in inputs { node.string(1, input) }                         // NodeProto.input
        node.string(2, out)                                                   // output
        node.string(3, "\(op)_\(count)")                                      // name
        node.string(4, op)                                                    // op_type
        for (name, value) in attributes {
            var attribute = ProtobufMessage()
            attribute.string(1, name)                                         // AttributeProto.name
            switch value {
            case .float(let f): attribute.float(2, f); attribute.int(20, 1)   // f, type FLOAT
            case .int(let i): attribute.int(3, i); attribute.int(20, 2)       // i, type INT
            case .ints(let list): for i in list { attribute.int(8, i) }; attribute.int(20, 7)  // ints, type INTS
            }
            node.message(5, attribute)                                        // NodeProto.attribute
        }
        nodes.append(node)
        return out
    }

    /// Appends the nodes of `module` reading `input`; returns the output's name. `path` is the module's
    /// portable name prefix ("" or "3.conv1."), so initializers are named as in the model file.
    mutating func add(_ module: Module, input x: String, path: String) throws -> String {
        switch module {
        case let m as Sequential:
            var h = x
            for (i, layer) in m.layers.enumerated() { h = try add(layer, input: h, path: "\(path)\(i).") }
            return h
        case let m as Conv2d:
            let k = m.weight.shape
            let g = m.geometry
            return node("Conv", [x, constant(path + "weight", m.weight)] + (m.bias.map { [constant(path + "bias", $0)] } ?? []),
                        [("kernel_shape", .ints([k[2], k[3]])), ("strides", .ints([g.stride.0, g.stride.1])),
                         ("pads", .ints([g.padding.0, g.padding.1, g.padding.0, g.padding.1])),
                         ("dilations", .ints([g.dilation.0, g.dilation.1])), ("group", .int(g.groups))])
        case let m as BatchNorm:
            return node("BatchNormalization", [x, constant(path + "weight", m.gamma), constant(path + "bias", m.beta),
                                               constant(path + "running_mean", m.runningMean), constant(path + "running_var", m.runningVar)],
                        [("epsilon", .float(m.eps))])
        case let m as GroupNorm:
            guard m.groups == m.gamma.count else {
                throw ConfigError("ONNX export: \(name(path)) is a GroupNorm of \(m.groups) groups over \(m.gamma.count) channels; only one channel per group (InstanceNormalization) is exported")
            }
            return node("InstanceNormalization", [x, constant(path + "weight", m.gamma), constant(path + "bias", m.beta)],
                        [("epsilon", .float(m.eps))])
        case let m as Activation:
            switch m.kind {
            case .relu: return node("Relu", [x])
            case .leakyRelu(let slope): return node("LeakyRelu", [x], [("alpha", .float(slope))])
            case .sigmoid: return node("Sigmoid", [x])
            case .tanh: return node("Tanh", [x])
            case .gelu: throw ConfigError("ONNX export: \(name(path)) is a GELU, which opset \(ONNXExport.opset) has no operator for")
            }
        case let m as MaxPool2d:
            return node("MaxPool", [x], pooling(m.geometry))
        case let m as AvgPool2d:
            guard m.geometry.padding == (0, 0) else {
                throw ConfigError("ONNX export: \(name(path)) is an AvgPool2d with padding, which is not exported")
            }
            return node("AveragePool", [x], pooling(m.geometry))
        case is GlobalAvgPool2d:
            return node("Flatten", [node("GlobalAveragePool", [x])], [("axis", .int(1))])
        case is Flatten:
            return node("Flatten", [x], [("axis", .int(1))])
        case let m as Linear:
            return node("Gemm", [x, constant(path + "weight", m.weight)] + (m.bias.map { [constant(path + "bias", $0)] } ?? []),
                        [("transB", .int(1))])
        case is Dropout:
            return x
        case let m as ResidualBlock:
            var h = try add(m.conv1, input: x, path: path + "conv1.")
            h = node("Relu", [try add(m.bn1, input: h, path: path + "bn1.")])
            h = try add(m.bn2, input: try add(m.conv2, input: h, path: path + "conv2."), path: path + "bn2.")
            var shortcut = x
            if let s = m.shortcut {
                shortcut = node("Conv", [x, constant(path + "shortcut.kernel", s.kernel)],
                                [("kernel_shape", .ints([1, 1])), ("strides", .ints([s.geometry.stride.0, s.geometry.stride.1]))])
            }
            return node("Relu", [node("Add", [h, shortcut])])
        case is LIF:
            throw ConfigError("ONNX export: \(name(path)) is a spiking LIF neuron: its membrane state carries over timesteps and its spikes come from a threshold, which an opset \(ONNXExport.opset) graph of fixed operators does not express; spiking models are not exported")
        default:
            throw ConfigError("ONNX export: \(name(path)) is a \(type(of: module)), which the exporter does not know; exported layers: Conv2d, BatchNorm, GroupNorm (one channel per group), activations, pooling, Flatten, Linear, Dropout, ResidualBlock, Sequential")
        }
    }

    private func pooling(_ g: Pool2dGeometry) -> [(String, ONNXAttribute)] {
        [("kernel_shape", .ints([g.kernel.0, g.kernel.1])), ("strides", .ints([g.stride.0, g.stride.1])),
         ("pads", .ints([g.padding.0, g.padding.1, g.padding.0, g.padding.1]))]
    }

    private func name(_ path: String) -> String { path.isEmpty ? "the model" : "layer '\(path.dropLast())'" }
}
