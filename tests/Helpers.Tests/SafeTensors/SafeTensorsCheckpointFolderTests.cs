using FineTuning.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Tests.SafeTensors;

public class SafeTensorsCheckpointFolderTests
{
    static void SaveTwoShards(string folder)
    {
        using var a = ones(4);
        using var b = zeros(4);
        SafeTensorsWriter.SaveSharded(folder, [("a", a), ("b", b)], maxShardBytes: 16);
    }

    [Fact]
    public void Single_File_Folder_Opens()
    {
        using var dir = new TempFolder();
        using var w = ones(2, 3);
        SafeTensorsWriter.Save(dir.File("model.safetensors"), [("w", w)]);
        using var checkpoint = SafeTensorsCheckpoint.OpenFolder(dir.Path);
        Assert.Equal(["w"], checkpoint.Names);
        Assert.Equal(dir.File("model.safetensors"), checkpoint.FileOf("w"));
        Assert.Equal([2L, 3L], checkpoint.Info("w").Shape);
        using var loaded = checkpoint.Load("w");
        TensorAssert.Identical(w, loaded);
    }

    [Fact]
    public void Index_Pointing_At_A_Missing_Shard_Names_Shard_And_Tensor()
    {
        using var dir = new TempFolder();
        SaveTwoShards(dir.Path);
        File.Delete(dir.File("model-00002-of-00002.safetensors"));
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(dir.Path));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
        Assert.Contains("'b'", e.Message);
        Assert.Contains("model.safetensors.index.json", e.Message);
    }

    [Fact]
    public void Index_Listing_A_Tensor_Its_Shard_Lacks_Names_Both()
    {
        using var dir = new TempFolder();
        SaveTwoShards(dir.Path);
        var index = dir.File("model.safetensors.index.json");
        File.WriteAllText(index, File.ReadAllText(index).Replace("\"b\": \"model-00002", "\"b\": \"model-00001"));
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(dir.Path));
        Assert.Contains("model-00001-of-00002.safetensors", e.Message);
        Assert.Contains("'b'", e.Message);
        Assert.Equal("b", e.Key);
    }

    [Fact]
    public void Index_Without_Weight_Map_Or_Reaching_Outside_The_Folder_Is_Refused()
    {
        using var dir = new TempFolder();
        var index = dir.File("model.safetensors.index.json");
        File.WriteAllText(index, """{"metadata": {"total_size": 0}}""");
        Assert.Contains("weight_map", Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(dir.Path)).Message);
        File.WriteAllText(index, """{"weight_map": {"a": "../elsewhere.safetensors"}}""");
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(dir.Path));
        Assert.Contains("'a'", e.Message);
        Assert.Contains("not a plain file name", e.Message);
    }

    [Fact]
    public void A_Bad_Shard_Is_Reported_With_Its_Own_Path()
    {
        using var dir = new TempFolder();
        SaveTwoShards(dir.Path);
        var shard = dir.File("model-00001-of-00002.safetensors");
        File.WriteAllBytes(shard, File.ReadAllBytes(shard)[..^4]);
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(dir.Path));
        Assert.Equal(shard, e.FilePath);
        Assert.Contains("'a'", e.Message);
    }

    [Fact]
    public void Folder_With_Only_Pytorch_Model_Bin_Is_Refused_With_Conversion_Advice()
    {
        using var dir = new TempFolder();
        File.WriteAllBytes(dir.File("pytorch_model.bin"), [0x50, 0x4B, 3, 4]);
        File.WriteAllText(dir.File("config.json"), "{}");
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(dir.Path));
        Assert.Contains(dir.File("pytorch_model.bin"), e.Message);
        Assert.Contains("never executes pickle", e.Message);
        Assert.Contains($"from_pretrained(\"{dir.Path}\").save_pretrained(\"{dir.Path}\", safe_serialization=True)", e.Message);
        Assert.Contains("cls.*", e.Message);
    }

    [Fact]
    public void Folder_With_Only_A_Pickle_Index_Is_Refused_Too()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("pytorch_model.bin.index.json"), "{}");
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(dir.Path));
        Assert.Contains("pytorch_model.bin.index.json", e.Message);
        Assert.Contains("never executes pickle", e.Message);
    }

    [Fact]
    public void Empty_Folder_Says_What_Was_Expected()
    {
        using var dir = new TempFolder();
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(dir.Path));
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("empty", e.Message);
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("model.safetensors.index.json", e.Message);
    }

    [Fact]
    public void Folder_Without_Weights_Lists_What_It_Holds()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("config.json"), "{}");
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(dir.Path));
        Assert.Contains("no weights found", e.Message);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void Missing_Folder_Is_Named()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"st-missing-{Guid.NewGuid():N}");
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(missing));
        Assert.Contains(missing, e.Message);
        Assert.Contains("not found", e.Message);
        Assert.Contains("model.safetensors", e.Message);
    }
}
