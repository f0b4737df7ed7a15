using System.Runtime.InteropServices;

namespace FineTuning.Models.Onnx;

/// <summary>One tensor of an ONNX graph (an initializer, or a <c>Constant</c> node's value): ONNX's <c>TensorProto</c>
/// with what an importer needs: its name, shape, element type and data.</summary>
/// <param name="Name">the initializer's name (for a Constant node: the node's output).</param>
/// <param name="Dims">the shape.</param>
/// <param name="DataType">ONNX's <c>TensorProto.DataType</c> (1 = FLOAT, 7 = INT64, ...).</param>
/// <param name="RawData">the values as little-endian bytes (<c>raw_data</c>, what exporters write), not copied.</param>
/// <param name="FloatData">the values when given as <c>float_data</c> instead; null otherwise.</param>
internal sealed record OnnxTensor(string Name, long[] Dims, int DataType, ReadOnlyMemory<byte> RawData, float[]? FloatData)
{
    /// <summary>ONNX's <c>TensorProto.DataType.FLOAT</c>.</summary>
    public const int Float = 1;

    public long ElementCount => Dims.Aggregate(1L, (n, d) => n * d);

    /// <summary>The values of a FLOAT tensor (raw_data is little-endian, as ONNX specifies).</summary>
    /// <exception cref="FormatException">Not FLOAT, or the data does not hold <see cref="ElementCount"/> values.</exception>
    public float[] ToFloats()
    {
        if (DataType != Float) throw new FormatException($"tensor '{Name}' has ONNX data type {DataType}, not FLOAT (1)");
        var values = FloatData ?? MemoryMarshal.Cast<byte, float>(RawData.Span).ToArray();
        if (values.Length != ElementCount || (FloatData is null && RawData.Length != ElementCount * 4))
            throw new FormatException($"tensor '{Name}' of shape [{string.Join(", ", Dims)}] holds {values.Length} values, expected {ElementCount}");
        return values;
    }
}

/// <summary>One operator of an ONNX graph (<c>NodeProto</c>): its type and the names of the values it reads and writes.</summary>
internal sealed record OnnxNode(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);

/// <summary>
/// An ONNX model read from its protobuf bytes (<c>ModelProto</c> → <c>GraphProto</c>): the nodes in graph order and the
/// constant tensors by name (initializers, plus each <c>Constant</c> node's value under its output's name). Only what
/// an importer of weights needs is read; attributes other than a Constant's <c>value</c>, value infos and doc strings
/// are skipped. Tensor data is not copied: the model keeps the file's bytes.
/// </summary>
internal sealed class OnnxModel
{
    public required string Source { get; init; }
    public required string ProducerName { get; init; }
    public required string ProducerVersion { get; init; }
    public required long OpsetVersion { get; init; }
    public required IReadOnlyList<OnnxNode> Nodes { get; init; }
    public required IReadOnlyDictionary<string, OnnxTensor> Constants { get; init; }

    // Field numbers of onnx.proto (onnx/onnx.proto3), the ones read here.
    const int ModelGraph = 7, ModelOpsetImport = 8, ModelProducerName = 2, ModelProducerVersion = 3;
    const int OpsetDomain = 1, OpsetVersionField = 2;
    const int GraphNode = 1, GraphInitializer = 5;
    const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5;
    const int AttributeName = 1, AttributeTensor = 5;
    const int TensorDims = 1, TensorDataType = 2, TensorFloatData = 4, TensorName = 8, TensorRawData = 9, TensorDataLocation = 14;

    /// <summary>Reads a model from its bytes.</summary>
    /// <param name="bytes">the .onnx file's contents (kept, not copied).</param>
    /// <param name="source">where the bytes came from, for messages.</param>
    /// <exception cref="FormatException">Not a readable ONNX model (the message names <paramref name="source"/>).</exception>
    public static OnnxModel Parse(ReadOnlyMemory<byte> bytes, string source)
    {
        try
        {
            return ParseModel(new ProtoReader(bytes), source);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{source}: not a readable ONNX model: {e.Message}", e);
        }
    }

    static OnnxModel ParseModel(ProtoReader model, string source)
    {
        string producer = "", producerVersion = "";
        long opset = 0;
        ProtoReader? graph = null;
        while (!model.AtEnd)
        {
            var (field, wire) = model.ReadTag();
            switch (field)
            {
                case ModelGraph when wire == ProtoReader.LengthDelimited: graph = model.ReadMessage(); break;
                case ModelProducerName when wire == ProtoReader.LengthDelimited: producer = model.ReadString(); break;
                case ModelProducerVersion when wire == ProtoReader.LengthDelimited: producerVersion = model.ReadString(); break;
                case ModelOpsetImport when wire == ProtoReader.LengthDelimited:
                    var (domain, version) = ReadOpset(model.ReadMessage());
                    if (domain is "" or "ai.onnx") opset = version;
                    break;
                default: model.Skip(wire); break;
            }
        }
        if (graph is not { } g) throw new FormatException("the ModelProto has no graph (field 7)");

        var nodes = new List<OnnxNode>();
        var constants = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        while (!g.AtEnd)
        {
            var (field, wire) = g.ReadTag();
            if (field == GraphNode && wire == ProtoReader.LengthDelimited)
            {
                var (node, value) = ReadNode(g.ReadMessage());
                nodes.Add(node);
                if (value is not null && node.Outputs.Count == 1) constants[node.Outputs[0]] = value with { Name = node.Outputs[0] };
            }
            else if (field == GraphInitializer && wire == ProtoReader.LengthDelimited)
            {
                var tensor = ReadTensor(g.ReadMessage());
                if (!constants.TryAdd(tensor.Name, tensor)) throw new FormatException($"two initializers are named '{tensor.Name}'");
            }
            else g.Skip(wire);
        }
        return new OnnxModel
        {
            Source = source, ProducerName = producer, ProducerVersion = producerVersion, OpsetVersion = opset,
            Nodes = nodes, Constants = constants,
        };
    }

    static (string Domain, long Version) ReadOpset(ProtoReader r)
    {
        string domain = "";
        long version = 0;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (field == OpsetDomain && wire == ProtoReader.LengthDelimited) domain = r.ReadString();
            else if (field == OpsetVersionField && wire == ProtoReader.Varint) version = r.ReadInt64();
            else r.Skip(wire);
        }
        return (domain, version);
    }

    static (OnnxNode Node, OnnxTensor? ConstantValue) ReadNode(ProtoReader r)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        string name = "", op = "";
        OnnxTensor? value = null;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case NodeInput when wire == ProtoReader.LengthDelimited: inputs.Add(r.ReadString()); break;
                case NodeOutput when wire == ProtoReader.LengthDelimited: outputs.Add(r.ReadString()); break;
                case NodeName when wire == ProtoReader.LengthDelimited: name = r.ReadString(); break;
                case NodeOpType when wire == ProtoReader.LengthDelimited: op = r.ReadString(); break;
                case NodeAttribute when wire == ProtoReader.LengthDelimited:
                    var (attribute, tensor) = ReadAttribute(r.ReadMessage());
                    if (attribute == "value") value = tensor;
                    break;
                default: r.Skip(wire); break;
            }
        }
        return (new OnnxNode(name, op, inputs, outputs), op == "Constant" ? value : null);
    }

    static (string Name, OnnxTensor? Tensor) ReadAttribute(ProtoReader r)
    {
        string name = "";
        OnnxTensor? tensor = null;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            if (field == AttributeName && wire == ProtoReader.LengthDelimited) name = r.ReadString();
            else if (field == AttributeTensor && wire == ProtoReader.LengthDelimited) tensor = ReadTensor(r.ReadMessage());
            else r.Skip(wire);
        }
        return (name, tensor);
    }

    static OnnxTensor ReadTensor(ProtoReader r)
    {
        var dims = new List<long>();
        int dataType = 0;
        string name = "";
        ReadOnlyMemory<byte> raw = default;
        List<float>? floats = null;
        while (!r.AtEnd)
        {
            var (field, wire) = r.ReadTag();
            switch (field)
            {
                case TensorDims: r.ReadInt64s(wire, dims); break;
                case TensorDataType when wire == ProtoReader.Varint: dataType = (int)r.ReadInt64(); break;
                case TensorName when wire == ProtoReader.LengthDelimited: name = r.ReadString(); break;
                case TensorRawData when wire == ProtoReader.LengthDelimited: raw = r.ReadBytes(out _); break;
                case TensorFloatData when wire == ProtoReader.LengthDelimited:
                    var packed = r.ReadMessage();
                    floats ??= [];
                    while (!packed.AtEnd) floats.Add(packed.ReadFloat());
                    break;
                case TensorFloatData when wire == ProtoReader.Fixed32: (floats ??= []).Add(r.ReadFloat()); break;
                case TensorDataLocation when wire == ProtoReader.Varint:
                    if (r.ReadInt64() != 0) throw new FormatException($"tensor '{name}' keeps its data in an external file, which is not supported");
                    break;
                default: r.Skip(wire); break;
            }
        }
        if (dims.Any(d => d < 0)) throw new FormatException($"tensor '{name}' has a negative dimension [{string.Join(", ", dims)}]");
        return new OnnxTensor(name, dims.ToArray(), dataType, raw, floats?.ToArray());
    }
}
