import Foundation
import TrainingLab
import Yams

/// Reads `--config FILE` into the JSON value `ConfigurationDocument` interprets: JSON (a run folder's config.json
/// among them) with TrainingLab's own reader, YAML (.yaml, .yml) through Yams.
enum ConfigFile {
    static func load(_ path: String) throws -> ConfigurationDocument {
        let url = URL(fileURLWithPath: path)
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError("--config \(path): cannot read the file (\(error.localizedDescription))")
        }
        let document: JSONValue
        switch url.pathExtension.lowercased() {
        case "json": document = try JSONValue.parse(text, source: path)
        case "yaml", "yml":
            do {
                guard let root = try Yams.compose(yaml: text) else { throw ConfigError("--config \(path): the file is empty") }
                document = try json(root, at: [], source: path)
            } catch let error as YamlError {
                throw ConfigError("--config \(path): not valid YAML: \(error)")
            }
        default:
            throw ConfigError("--config \(path): unknown format '.\(url.pathExtension)'; expected .json (config.json of a run folder) or .yaml/.yml")
        }
        return try ConfigurationDocument(document, source: path)
    }

    /// A YAML node as JSON: scalars by their resolved YAML tag (so a quoted "5" stays a string), mappings with
    /// string keys in file order, sequences; aliases are refused. `path` names the place in errors.
    private static func json(_ node: Node, at path: [String], source: String) throws -> JSONValue {
        let place = path.isEmpty ? "the top level" : path.joined(separator: ".")
        switch node {
        case .scalar(let scalar):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case Tag.Name.int.rawValue: return node.int.map { .number(Double($0)) } ?? .string(scalar.string)
            case Tag.Name.float.rawValue: return node.float.map(JSONValue.number) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .mapping(let mapping):
            return .object(try mapping.map { key, value in
                guard let name = key.scalar?.string else { throw ConfigError("--config \(source): a key at \(place) is not a plain name") }
                return (name, try json(value, at: path + [name], source: source))
            })
        case .sequence(let sequence):
            return .array(try sequence.enumerated().map { try json($1, at: path + ["\($0)"], source: source) })
        case .alias:
            throw ConfigError("--config \(source): YAML aliases are not supported (at \(place))")
        }
    }
}
