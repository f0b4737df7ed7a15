using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using TorchSharp;

namespace FineTuning.SafeTensors;

/// <summary>
/// A safetensors file opened for reading: the header is parsed and validated on <see cref="Open"/>, the data stays
/// in a read-only memory map, and <see cref="Load"/> copies one tensor's bytes straight into a new tensor.
/// </summary>
/// <remarks>
/// Format: 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data section. Nothing here
/// reads the whole file into managed memory; a tensor costs exactly one copy, from the page cache into its storage.
/// Not thread-safe against <see cref="Dispose"/>; concurrent <see cref="Load"/> calls are fine.
/// </remarks>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>Upper bound on the JSON header, as in the Rust crate: a larger claim is corruption, not a model.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    readonly MemoryMappedFile map;
    readonly MemoryMappedViewAccessor view;
    readonly Dictionary<string, SafeTensorInfo> byName;
    byte* basePointer;
    readonly long dataOffset;

    SafeTensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer, long dataOffset,
        SafeTensorsHeader.Parsed parsed)
    {
        FilePath = path;
        this.map = map;
        this.view = view;
        this.basePointer = basePointer;
        this.dataOffset = dataOffset;
        Metadata = parsed.Metadata;
        Tensors = parsed.Tensors.AsReadOnly();
        byName = parsed.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        Names = parsed.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal).ToList().AsReadOnly();
    }

    /// <summary>The path the file was opened from.</summary>
    public string FilePath { get; }

    /// <summary>The header's <c>__metadata__</c> map, or null when the file has none.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; }

    /// <summary>Every tensor of the file, sorted by <see cref="SafeTensorInfo.DataStart"/>.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    /// <summary>Every tensor name, sorted ordinally.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Whether the file holds a tensor of that name.</summary>
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The header entry of a tensor.</summary>
    /// <exception cref="KeyNotFoundException">when there is no such tensor; the message names it and the file.</exception>
    public SafeTensorInfo Info(string name) =>
        byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"{FilePath}: no tensor named '{name}'");

    /// <summary>
    /// Opens and validates a safetensors file. Every problem with the file's content or presence is reported as a
    /// <see cref="CheckpointException"/> naming the file and, where one is at fault, the tensor.
    /// </summary>
    public static SafeTensorsFile Open(string path)
    {
        // The format is little-endian on disk and we copy bytes unchanged into tensors.
        if (!BitConverter.IsLittleEndian)
            throw new CheckpointException(path, "safetensors files can only be loaded on a little-endian machine; this one is big-endian");

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CheckpointException(path, "safetensors file not found", inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, $"cannot open safetensors file: {e.Message}", inner: e);
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        byte* pointer = null;
        try
        {
            long length = stream.Length;
            // Checked before mapping: an empty file cannot even be mapped.
            if (length < 8)
                throw new CheckpointException(path, $"file is {length} bytes, too short for the 8-byte safetensors header length");

            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            stream = null!; // owned by the map now
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;

            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(pointer, 8));
            if (headerLength > MaxHeaderBytes)
                throw new CheckpointException(path, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit; not a safetensors file or corrupt");
            if ((long)headerLength > length - 8)
                throw new CheckpointException(path, $"header length {headerLength} runs past the end of the {length}-byte file; the file is truncated or corrupt");
            if (headerLength < 2)
                throw new CheckpointException(path, $"header length {headerLength} is too short for a JSON object");

            // Only the header is copied to managed memory (JsonDocument needs it to outlive the parse).
            var header = new ReadOnlySpan<byte>(pointer + 8, (int)headerLength).ToArray();
            long dataStart = 8 + (long)headerLength;
            var parsed = SafeTensorsHeader.Parse(path, header, length - dataStart);
            return new SafeTensorsFile(path, map, view, pointer, dataStart, parsed);
        }
        catch
        {
            if (pointer != null) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map?.Dispose();
            stream?.Dispose();
            throw;
        }
    }

    /// <summary>Loads a tensor as a new CPU tensor of the file's dtype and shape; the caller owns (disposes) it.</summary>
    /// <exception cref="KeyNotFoundException">when there is no such tensor.</exception>
    public torch.Tensor Load(string name)
    {
        var info = Info(name);
        var pointer = basePointer;
        ObjectDisposedException.ThrowIf(pointer == null, this);

        var tensor = torch.empty(info.Shape, info.DType.ToScalarType());
        try
        {
            var source = (IntPtr)(pointer + dataOffset + info.DataStart);
            TensorMemory.Visit(tensor, (chunk, offset) =>
                new ReadOnlySpan<byte>((byte*)source + offset, chunk.Length).CopyTo(chunk));
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>Loads a tensor and converts it to <paramref name="type"/> (no conversion when it already has that type).</summary>
    public torch.Tensor LoadAs(string name, torch.ScalarType type)
    {
        var tensor = Load(name);
        if (tensor.dtype == type) return tensor;
        using (tensor) return tensor.to_type(type);
    }

    /// <summary>Unmaps the file. Tensors already loaded stay valid: they own their memory.</summary>
    public void Dispose()
    {
        if (basePointer == null) return;
        basePointer = null;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        map.Dispose();
    }
}
