using System.Text.Json.Nodes;
using FineTuning.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Tests.SafeTensors;

/// <summary>
/// Damaged files, each made by editing the bytes or JSON header of a small valid file we write ourselves. Every one
/// must fail at <see cref="SafeTensorsFile.Open"/> with a <see cref="CheckpointException"/> naming the file and, where
/// one is at fault, the tensor — never with an allocation, an overflow or a wrong tensor.
/// </summary>
public sealed class SafeTensorsBadFileTests : IDisposable
{
    readonly TempFolder dir = new();
    readonly string header;   // the valid file's JSON header, without padding
    readonly byte[] data;     // its 16-byte data section: alpha F32 [2] at [0,8], beta I64 [1] at [8,16]

    public SafeTensorsBadFileTests()
    {
        using var alpha = tensor(new[] { 1f, 2f });
        using var beta = tensor(new[] { 3L });
        var valid = dir.File("valid.safetensors");
        SafeTensorsWriter.Save(valid, [("alpha", alpha), ("beta", beta)]);
        header = RawSafeTensors.ReadHeader(valid).TrimEnd(' ');
        data = RawSafeTensors.ReadData(valid);
    }

    public void Dispose() => dir.Dispose();

    /// <summary>Writes the damaged file under a name unique to the test and asserts how opening it fails.</summary>
    CheckpointException Open(string fileName, string? headerJson = null, byte[]? dataBytes = null, ulong? claimedHeaderLength = null,
        string? tensorName = null)
    {
        var path = dir.File(fileName);
        RawSafeTensors.Write(path, headerJson ?? header, dataBytes ?? data, claimedHeaderLength);
        return AssertFails(path, tensorName);
    }

    static CheckpointException AssertFails(string path, string? tensorName)
    {
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Contains(Path.GetFileName(path), e.Message);
        Assert.Equal(path, e.FilePath);
        if (tensorName is not null)
        {
            Assert.Contains($"'{tensorName}'", e.Message);
            Assert.Equal(tensorName, e.Key);
        }
        return e;
    }

    string Edit(Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(header)!.AsObject();
        edit(root);
        return root.ToJsonString();
    }

    [Fact]
    public void The_Unedited_File_Opens()
    {
        using var file = SafeTensorsFile.Open(dir.File("valid.safetensors"));
        Assert.Equal(["alpha", "beta"], file.Names);
    }

    [Fact]
    public void Truncated_In_The_Data_Section_Names_The_Last_Tensor()
    {
        var e = Open("truncated.safetensors", dataBytes: data[..12], tensorName: "beta");
        Assert.Contains("past the end of the data section", e.Message);
    }

    [Fact]
    public void File_Shorter_Than_8_Bytes()
    {
        var path = dir.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("too short", AssertFails(path, null).Message);
    }

    [Fact]
    public void Empty_File()
    {
        var path = dir.File("empty.safetensors");
        File.WriteAllBytes(path, []);
        Assert.Contains("0 bytes", AssertFails(path, null).Message);
    }

    [Fact]
    public void Header_Length_Past_The_End_Of_The_File()
    {
        var e = Open("longheader.safetensors", claimedHeaderLength: 10_000);
        Assert.Contains("runs past the end", e.Message);
    }

    [Fact]
    public void Header_Length_Of_2_Pow_60_Is_Refused_Without_Allocating()
    {
        var e = Open("hugeheader.safetensors", claimedHeaderLength: 1UL << 60);
        Assert.Contains("exceeds", e.Message);
    }

    [Fact]
    public void Header_Not_Json()
    {
        var e = Open("notjson.safetensors", headerJson: header.Replace("\"dtype\":\"F32\"", "\"dtype\":F32"));
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void Header_Not_Utf8()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(header);
        bytes[bytes.Length - 3] = 0xFF;
        var path = dir.File("notutf8.safetensors");
        RawSafeTensors.Write(path, bytes, data);
        Assert.Contains("UTF-8", AssertFails(path, null).Message);
    }

    [Fact]
    public void Header_Is_A_Json_Array()
    {
        var e = Open("array.safetensors", headerJson: $"[{header}]");
        Assert.Contains("must be a JSON object", e.Message);
    }

    [Fact]
    public void Unknown_DType_Lists_The_Supported_Ones()
    {
        var e = Open("dtype.safetensors", headerJson: Edit(h => h["alpha"]!["dtype"] = "F8_E4M3"), tensorName: "alpha");
        Assert.Contains("F8_E4M3", e.Message);
        Assert.Contains("F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL", e.Message);
    }

    [Fact]
    public void Missing_Data_Offsets()
    {
        var e = Open("nooffsets.safetensors", headerJson: Edit(h => h["beta"]!.AsObject().Remove("data_offsets")), tensorName: "beta");
        Assert.Contains("data_offsets", e.Message);
    }

    [Fact]
    public void Missing_Shape_And_Wrong_Json_Types()
    {
        Assert.Contains("shape", Open("noshape.safetensors", headerJson: Edit(h => h["alpha"]!.AsObject().Remove("shape")), tensorName: "alpha").Message);
        Assert.Contains("dtype", Open("dtypenum.safetensors", headerJson: Edit(h => h["alpha"]!["dtype"] = 4), tensorName: "alpha").Message);
        Assert.Contains("integer", Open("floatdim.safetensors", headerJson: Edit(h => h["alpha"]!["shape"] = new JsonArray(2.5)), tensorName: "alpha").Message);
        Assert.Contains("[begin, end]", Open("threeoffsets.safetensors", headerJson: Edit(h => h["beta"]!["data_offsets"] = new JsonArray(8, 16, 24)), tensorName: "beta").Message);
        Assert.Contains("object", Open("entrystring.safetensors", headerJson: Edit(h => h["beta"] = "x"), tensorName: "beta").Message);
    }

    [Fact]
    public void Begin_After_End()
    {
        var e = Open("reversed.safetensors", headerJson: Edit(h => h["beta"]!["data_offsets"] = new JsonArray(16, 8)), tensorName: "beta");
        Assert.Contains("after end", e.Message);
    }

    [Fact]
    public void Overlapping_Tensors()
    {
        // beta moved to [4,12] overlaps alpha [0,8].
        var e = Open("overlap.safetensors", headerJson: Edit(h => h["beta"]!["data_offsets"] = new JsonArray(4, 12)), tensorName: "beta");
        Assert.Contains("overlap", e.Message);
        Assert.Contains("'alpha'", e.Message);
    }

    [Fact]
    public void Gap_Between_Tensors()
    {
        var e = Open("gap.safetensors", headerJson: Edit(h => h["beta"]!["data_offsets"] = new JsonArray(12, 20)),
            dataBytes: [.. data, 0, 0, 0, 0], tensorName: "beta");
        Assert.Contains("gap of 4 bytes", e.Message);
    }

    [Fact]
    public void Trailing_Bytes_Not_Covered_By_Any_Tensor()
    {
        var e = Open("trailing.safetensors", dataBytes: [.. data, 0, 0, 0, 0, 0, 0, 0, 0]);
        Assert.Contains("cover only 16", e.Message);
    }

    [Fact]
    public void End_Past_The_Data_Section()
    {
        var e = Open("pastend.safetensors", headerJson: Edit(h =>
        {
            h["beta"]!["shape"] = new JsonArray(2);
            h["beta"]!["data_offsets"] = new JsonArray(8, 24);
        }), tensorName: "beta");
        Assert.Contains("past the end of the data section (16 bytes)", e.Message);
    }

    [Fact]
    public void Shape_Times_Element_Size_Differs_From_Byte_Length()
    {
        var e = Open("badlength.safetensors", headerJson: Edit(h => h["alpha"]!["shape"] = new JsonArray(3)), tensorName: "alpha");
        Assert.Contains("needs 12 bytes", e.Message);
    }

    [Fact]
    public void Shape_Of_10_Pow_12_Elements_Is_Refused_Without_Allocating()
    {
        var e = Open("trillion.safetensors", headerJson: Edit(h => h["alpha"]!["shape"] = new JsonArray(1_000_000, 1_000_000)), tensorName: "alpha");
        Assert.Contains("needs 4000000000000 bytes", e.Message);
        // A shape whose byte count overflows 64 bits must fail the same way, not wrap around.
        var o = Open("overflow.safetensors", headerJson: Edit(h => h["alpha"]!["shape"] = new JsonArray(1L << 40, 1L << 40)), tensorName: "alpha");
        Assert.Contains("overflows", o.Message);
    }

    [Fact]
    public void Negative_Dimension()
    {
        var e = Open("negative.safetensors", headerJson: Edit(h => h["alpha"]!["shape"] = new JsonArray(-2)), tensorName: "alpha");
        Assert.Contains("negative", e.Message);
    }

    [Fact]
    public void Negative_Offset()
    {
        var e = Open("negoffset.safetensors", headerJson: Edit(h => h["alpha"]!["data_offsets"] = new JsonArray(-8, 0)), tensorName: "alpha");
        Assert.Contains("non-negative", e.Message);
    }

    [Fact]
    public void Metadata_With_A_Non_String_Value()
    {
        var e = Open("metadata.safetensors", headerJson: Edit(h => h["__metadata__"]!["format"] = 1), tensorName: "__metadata__");
        Assert.Contains("must be a string", e.Message);
        var o = Open("metadata2.safetensors", headerJson: Edit(h => h["__metadata__"] = new JsonArray("pt")), tensorName: "__metadata__");
        Assert.Contains("object of strings", o.Message);
    }

    [Fact]
    public void Duplicate_Tensor_Names()
    {
        // JSON allows repeating a key; the second "alpha" entry would silently shadow the first.
        var duplicated = header.Replace("\"beta\":", "\"alpha\":");
        var e = Open("duplicate.safetensors", headerJson: duplicated, tensorName: "alpha");
        Assert.Contains("appears twice", e.Message);
    }

    [Fact]
    public void Missing_File()
    {
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(dir.File("absent.safetensors")));
        Assert.Contains("absent.safetensors", e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void Unknown_Tensor_Name_Throws_KeyNotFound_Naming_It()
    {
        using var file = SafeTensorsFile.Open(dir.File("valid.safetensors"));
        var e = Assert.Throws<KeyNotFoundException>(() => file.Load("gamma"));
        Assert.Contains("'gamma'", e.Message);
        Assert.Contains("valid.safetensors", e.Message);
    }
}
