using System.Buffers.Binary;
using System.Text.Json;
using FineTuning.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Tests.SafeTensors;

public class SafeTensorsWriterTests
{
    [Fact]
    public void Header_Is_8Byte_Aligned_Space_Padded_And_Starts_With_Metadata()
    {
        using var dir = new TempFolder();
        using var a = ones(3);            // 12 bytes: the data is not a multiple of 8 either
        using var b = ones(1, dtype: ScalarType.Int8);
        var path = dir.File("h.safetensors");
        SafeTensorsWriter.Save(path, [("b", b), ("a", a)]);

        var bytes = File.ReadAllBytes(path);
        var n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + n) % 8);
        var header = RawSafeTensors.ReadHeader(path);
        Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\"}", header);
        var padding = header[(header.LastIndexOf('}') + 1)..];
        Assert.True(padding.Length < 8 && padding.All(c => c == ' '), $"padding '{padding}'");
        Assert.Equal(8 + n + 12 + 1, bytes.Length);
    }

    [Fact]
    public void Tensors_Are_Written_In_Ordinal_Name_Order_With_Contiguous_Offsets()
    {
        using var dir = new TempFolder();
        using var t1 = ones(2);
        using var t2 = ones(3);
        using var t3 = ones(1);
        var path = dir.File("o.safetensors");
        // Ordinal order puts "B" before "a" and "a.10" before "a.2".
        SafeTensorsWriter.Save(path, [("a.2", t1), ("B", t2), ("a.10", t3)]);

        using var doc = JsonDocument.Parse(RawSafeTensors.ReadHeader(path));
        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["__metadata__", "B", "a.10", "a.2"], names);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal([(0L, 12L), (12L, 16L), (16L, 24L)], file.Tensors.Select(t => (t.DataStart, t.DataEnd)));
    }

    [Fact]
    public void Duplicate_Names_Throw_ArgumentException_And_Write_Nothing()
    {
        using var dir = new TempFolder();
        using var t = ones(1);
        var e = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Save(dir.File("d.safetensors"), [("w", t), ("w", t)]));
        Assert.Contains("'w'", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Unsupported_DType_Throws_ArgumentException_And_Write_Nothing()
    {
        using var dir = new TempFolder();
        using var c = zeros(2, dtype: ScalarType.ComplexFloat32);
        var e = Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Save(dir.File("c.safetensors"), [("c", c)]));
        Assert.Contains("'c'", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Failed_Save_Leaves_No_Temp_File_And_Keeps_The_Old_Target()
    {
        using var dir = new TempFolder();
        using var t = ones(4);
        // The target is a non-empty folder, so the final rename fails after the data has been written.
        var target = dir.File("target.safetensors");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "keep.txt"), "x");
        Assert.ThrowsAny<IOException>(() => SafeTensorsWriter.Save(target, [("t", t)]));
        Assert.Empty(dir.TempFiles());
        Assert.True(File.Exists(Path.Combine(target, "keep.txt")));
    }

    [Fact]
    public void Save_Replaces_An_Existing_File()
    {
        using var dir = new TempFolder();
        var path = dir.File("r.safetensors");
        using var first = ones(100);
        using var second = zeros(2, dtype: ScalarType.Int64);
        SafeTensorsWriter.Save(path, [("first", first)]);
        SafeTensorsWriter.Save(path, [("second", second)]);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["second"], file.Names);
        Assert.Empty(dir.TempFiles());
    }
}
