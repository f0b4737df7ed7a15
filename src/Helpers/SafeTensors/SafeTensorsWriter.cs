using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;

namespace FineTuning.SafeTensors;

/// <summary>
/// Writes safetensors files the way Hugging Face does: <c>__metadata__</c> first (default <c>{"format":"pt"}</c>),
/// tensors in ordinal name order with contiguous data, and the JSON header padded with spaces to a multiple of 8
/// bytes so the data section stays 8-byte aligned.
/// </summary>
public static class SafeTensorsWriter
{
    static readonly IReadOnlyDictionary<string, string> DefaultMetadata = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>
    /// Saves tensors to <paramref name="path"/>. The file is written under a temporary name in the same folder and
    /// renamed over the target at the end, so a crash never leaves a half-written file behind.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">Names and tensors; any device and layout (each is made CPU-contiguous while it is written).</param>
    /// <param name="metadata">The <c>__metadata__</c> map; null writes <c>{"format":"pt"}</c> as transformers does.</param>
    /// <exception cref="ArgumentException">duplicate names, an empty name, the reserved name <c>__metadata__</c>, or a dtype safetensors cannot hold here.</exception>
    public static void Save(string path, IEnumerable<(string Name, torch.Tensor Tensor)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var entries = Prepare(tensors);
        var header = BuildHeader(entries, metadata ?? DefaultMetadata);
        WriteAtomically(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var entry in entries) WriteData(stream, entry.Tensor);
        });
    }

    /// <summary>
    /// Saves tensors as Hugging Face's <c>save_pretrained</c> does: when they exceed <paramref name="maxShardBytes"/>,
    /// into <c>{baseName}-00001-of-0000N.safetensors</c> … plus <c>{baseName}.safetensors.index.json</c>; otherwise into a
    /// single <c>{baseName}.safetensors</c> and no index.
    /// </summary>
    /// <remarks>
    /// Tensors are packed into shards in the order given (as transformers packs a state dict in module order), and a
    /// tensor larger than the limit gets a shard of its own. The index is written last, so it never names a shard
    /// that is not complete. Shards and an index left in the folder by an earlier save under the same base name are
    /// removed afterwards, so a reader cannot pick up a stale mix.
    /// </remarks>
    /// <returns>The paths written (shards, then the index when there is one).</returns>
    public static IReadOnlyList<string> SaveSharded(string folder, IEnumerable<(string Name, torch.Tensor Tensor)> tensors,
        long maxShardBytes, string baseName = "model")
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        ArgumentException.ThrowIfNullOrEmpty(baseName);
        var entries = Prepare(tensors, sortByName: false);
        Directory.CreateDirectory(folder);

        var shards = new List<List<Entry>>();
        var current = new List<Entry>();
        long currentBytes = 0, totalBytes = 0;
        foreach (var entry in entries)
        {
            if (current.Count > 0 && currentBytes + entry.ByteLength > maxShardBytes)
            {
                shards.Add(current);
                current = [];
                currentBytes = 0;
            }
            current.Add(entry);
            currentBytes += entry.ByteLength;
            totalBytes += entry.ByteLength;
        }
        if (current.Count > 0 || shards.Count == 0) shards.Add(current);

        var indexPath = Path.Combine(folder, SafeTensorsCheckpoint.IndexFileName(baseName));
        var written = new List<string>();
        if (shards.Count == 1)
        {
            var single = Path.Combine(folder, baseName + ".safetensors");
            Save(single, shards[0].Select(e => (e.Name, e.Tensor)));
            written.Add(single);
            RemoveStale(folder, baseName, keep: [], indexPath);
            return written;
        }

        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            var fileName = $"{baseName}-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            var shardPath = Path.Combine(folder, fileName);
            Save(shardPath, shards[i].Select(e => (e.Name, e.Tensor)));
            written.Add(shardPath);
            foreach (var e in shards[i]) weightMap[e.Name] = fileName;
        }
        var indexJson = ShardIndexJson.Index(totalBytes, weightMap);
        WriteAtomically(indexPath, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(indexJson)));
        written.Add(indexPath);
        RemoveStale(folder, baseName, keep: written.Select(Path.GetFileName).ToHashSet()!, staleIndex: null);
        return written;
    }

    sealed record Entry(string Name, torch.Tensor Tensor, SafeTensorDType DType, long[] Shape, long ByteLength);

    static List<Entry> Prepare(IEnumerable<(string Name, torch.Tensor Tensor)> tensors, bool sortByName = true)
    {
        var entries = new List<Entry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("tensor names must not be empty", nameof(tensors));
            if (name == SafeTensorsHeader.MetadataKey)
                throw new ArgumentException($"'{name}' is reserved for the header's metadata", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice", nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor, $"tensors['{name}']");
            if (!SafeTensorDTypes.TryFromScalarType(tensor.dtype, out var dtype))
                throw new ArgumentException(
                    $"tensor '{name}' has dtype {tensor.dtype}, which is not supported; supported: {SafeTensorDTypes.SupportedNames}", nameof(tensors));
            var shape = tensor.shape;
            entries.Add(new Entry(name, tensor, dtype, shape, checked(tensor.numel() * dtype.ElementSize())));
        }
        if (sortByName) entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return entries;
    }

    /// <summary>The JSON header, padded with spaces so 8 + its length is a multiple of 8.</summary>
    static byte[] BuildHeader(List<Entry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names as UTF-8, as the Rust crate (serde_json) writes them.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteStartObject(SafeTensorsHeader.MetadataKey);
            foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal)) json.WriteString(key, value);
            json.WriteEndObject();
            long offset = 0;
            foreach (var e in entries)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", e.DType.ToString());
                json.WriteStartArray("shape");
                foreach (var d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + e.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += e.ByteLength;
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    static void WriteData(Stream stream, torch.Tensor tensor)
    {
        var cpu = TensorMemory.ContiguousCpu(tensor, out bool owned);
        try
        {
            TensorMemory.Visit(cpu, (chunk, _) => stream.Write(chunk));
        }
        finally
        {
            if (owned) cpu.Dispose();
        }
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/>, flushes it to disk, then renames it over the
    /// target (<see cref="AtomicFile.Write"/>, with a 1 MB buffer for tensor data).</summary>
    internal static void WriteAtomically(string path, Action<Stream> write) => AtomicFile.Write(path, write, bufferSize: 1 << 20);

    /// <summary>Deletes shards of an earlier save (<c>{baseName}-NNNNN-of-NNNNN.safetensors</c>) not in <paramref name="keep"/>, and a stale index.</summary>
    static void RemoveStale(string folder, string baseName, HashSet<string> keep, string? staleIndex)
    {
        var pattern = new System.Text.RegularExpressions.Regex(
            "^" + System.Text.RegularExpressions.Regex.Escape(baseName) + @"-\d{5}-of-\d{5}\.safetensors$");
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(file);
            if (pattern.IsMatch(name) && !keep.Contains(name)) File.Delete(file);
        }
        if (staleIndex is not null && File.Exists(staleIndex)) File.Delete(staleIndex);
    }
}
