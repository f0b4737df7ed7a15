using System.Text;

namespace FineTuning.Tests.Models.Onnx;

/// <summary>
/// Writes an ONNX <c>ModelProto</c>'s protobuf bytes by hand (field numbers from onnx.proto3), so the importer is tested on
/// graphs built here, field by field, independently of the reader it tests.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    readonly List<byte[]> nodes = [];
    readonly List<byte[]> initializers = [];

    /// <summary>A FLOAT initializer with its values in raw_data (as PyTorch writes them), or in packed float_data.</summary>
    public OnnxGraphBuilder Initializer(string name, long[] dims, float[] values, bool asFloatData = false)
    {
        var t = new Message();
        foreach (var d in dims) t.Varint(1, (ulong)d); // dims, unpacked (either is legal)
        t.Varint(2, 1); // FLOAT
        if (asFloatData) t.Bytes(4, values.SelectMany(BitConverter.GetBytes).ToArray());
        t.String(8, name);
        if (!asFloatData) t.Bytes(9, values.SelectMany(BitConverter.GetBytes).ToArray());
        initializers.Add(t.ToArray());
        return this;
    }

    /// <summary>An INT64 initializer (a shape constant, which the importer must ignore).</summary>
    public OnnxGraphBuilder Int64Initializer(string name, long[] values)
    {
        var t = new Message();
        t.Varint(1, (ulong)values.Length);
        t.Varint(2, 7); // INT64
        t.String(8, name);
        t.Bytes(9, values.SelectMany(BitConverter.GetBytes).ToArray());
        initializers.Add(t.ToArray());
        return this;
    }

    public OnnxGraphBuilder Node(string op, string[] inputs, string[] outputs, string? name = null)
    {
        var n = new Message();
        foreach (var i in inputs) n.String(1, i);
        foreach (var o in outputs) n.String(2, o);
        n.String(3, name ?? $"{op}_{nodes.Count}");
        n.String(4, op);
        n.Bytes(5, new Message().String(1, "unused_attribute").Varint(3, 1).ToArray()); // an attribute to skip
        nodes.Add(n.ToArray());
        return this;
    }

    public byte[] ToBytes()
    {
        var graph = new Message();
        foreach (var n in nodes) graph.Bytes(1, n);
        graph.String(2, "test_graph");
        foreach (var t in initializers) graph.Bytes(5, t);
        var model = new Message();
        model.Varint(1, 7); // ir_version
        model.String(2, "test");
        model.Bytes(7, graph.ToArray());
        model.Bytes(8, new Message().String(1, "").Varint(2, 13).ToArray()); // opset_import { domain "", version 13 }
        return model.ToArray();
    }

    /// <summary>One protobuf message being written.</summary>
    sealed class Message
    {
        readonly MemoryStream bytes = new();

        public Message Varint(int field, ulong value)
        {
            WriteVarint(((ulong)field << 3) | 0);
            WriteVarint(value);
            return this;
        }

        public Message Bytes(int field, byte[] value)
        {
            WriteVarint(((ulong)field << 3) | 2);
            WriteVarint((ulong)value.Length);
            bytes.Write(value);
            return this;
        }

        public Message String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        void WriteVarint(ulong v)
        {
            while (v >= 0x80)
            {
                bytes.WriteByte((byte)(v | 0x80));
                v >>= 7;
            }
            bytes.WriteByte((byte)v);
        }

        public byte[] ToArray() => bytes.ToArray();
    }
}
