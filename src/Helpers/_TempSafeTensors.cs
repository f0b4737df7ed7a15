// THROWAWAY stand-in until branch safetensors merges.
using System.Text.Json;
using static TorchSharp.torch;
namespace FineTuning.SafeTensors;
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long DataStart, long DataEnd);
public sealed class SafeTensorsFile : IDisposable
{
    byte[] bytes = []; long dataStart; public Dictionary<string, SafeTensorInfo> Map = new(); public Dictionary<string,string> Metadata = new();
    public string Path = "";
    public static SafeTensorsFile Open(string path)
    {
        var f = new SafeTensorsFile { Path = path, bytes = File.ReadAllBytes(path) };
        long n = BitConverter.ToInt64(f.bytes, 0); f.dataStart = 8 + n;
        using var doc = JsonDocument.Parse(f.bytes.AsMemory(8, (int)n));
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") { foreach (var m in p.Value.EnumerateObject()) f.Metadata[m.Name] = m.Value.GetString()!; continue; }
            var o = p.Value.GetProperty("data_offsets");
            f.Map[p.Name] = new SafeTensorInfo(p.Name, p.Value.GetProperty("dtype").GetString()!, p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray(), o[0].GetInt64(), o[1].GetInt64());
        }
        return f;
    }
    public IEnumerable<string> Names => Map.Keys;
    public Tensor Load(string name)
    {
        var i = Map[name];
        var dt = i.DType switch { "F32" => ScalarType.Float32, "I64" => ScalarType.Int64, _ => throw new NotSupportedException() };
        var t = empty(i.Shape, dt);
        var span = bytes.AsSpan((int)(dataStart + i.DataStart), (int)(i.DataEnd - i.DataStart));
        t.bytes = span;
        return t;
    }
    public void Dispose() { }
}
public sealed class SafeTensorsCheckpoint : IDisposable
{
    SafeTensorsFile f = null!;
    public static SafeTensorsCheckpoint OpenFolder(string folder)
    {
        var p = System.IO.Path.Combine(folder, "model.safetensors");
        if (!File.Exists(p)) throw new CheckpointException(folder, "no model.safetensors; we never execute pickle (pytorch_model.bin); convert with safe_serialization=True");
        return new SafeTensorsCheckpoint { f = SafeTensorsFile.Open(p) };
    }
    public IEnumerable<string> Names => f.Names;
    public SafeTensorInfo Info(string n) => f.Map[n];
    public Tensor Load(string n) => f.Load(n);
    public string FileOf(string n) => f.Path;
    public void Dispose() { }
}
public static class SafeTensorsWriter
{
    public static void Save(string path, IEnumerable<(string, Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(t => t.Item1, StringComparer.Ordinal).ToList();
        var header = new Dictionary<string, object> { ["__metadata__"] = metadata ?? new Dictionary<string,string>{["format"]="pt"} };
        long off = 0;
        foreach (var (n, t) in list) { long len = t.numel() * t.ElementSize; header[n] = new { dtype = t.dtype == ScalarType.Float32 ? "F32" : "I64", shape = t.shape, data_offsets = new[] { off, off + len } }; off += len; }
        var json = JsonSerializer.SerializeToUtf8Bytes(header);
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes((long)json.Length)); fs.Write(json);
        foreach (var (n, t) in list) { var c = t.contiguous(); fs.Write(c.bytes); }
    }
}
