using FineTuning.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Tests.SafeTensors;

public class SafeTensorsShardingTests
{
    static List<(string Name, Tensor Tensor)> Model() =>
    [
        ("embeddings.weight", arange(40, dtype: ScalarType.Float32).reshape(10, 4)),  // 160 bytes
        ("encoder.0.weight", arange(16, dtype: ScalarType.Float32).reshape(4, 4)),     // 64
        ("encoder.0.bias", arange(4, dtype: ScalarType.Float32)),                      // 16
        ("encoder.1.weight", arange(16, dtype: ScalarType.BFloat16).reshape(4, 4)),    // 32
        ("position_ids", arange(8, dtype: ScalarType.Int64).reshape(1, 8)),            // 64
        ("classifier.weight", ones(2, 4)),                                             // 32
    ];

    static void DisposeAll(List<(string Name, Tensor Tensor)> model)
    {
        foreach (var (_, t) in model) t.Dispose();
    }

    [Fact]
    public void Sharded_Save_Then_OpenFolder_Gives_Identical_Tensors()
    {
        using var dir = new TempFolder();
        var model = Model();
        try
        {
            // 160 | 64+16 | 32+64 | 32 with a 100-byte limit: the first tensor alone exceeds it and gets its own shard.
            var written = SafeTensorsWriter.SaveSharded(dir.Path, model, maxShardBytes: 100);
            Assert.Equal(
                ["model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors",
                 "model-00004-of-00004.safetensors", "model.safetensors.index.json"],
                written.Select(Path.GetFileName));
            Assert.False(File.Exists(dir.File("model.safetensors")));
            Assert.Empty(dir.TempFiles());

            using var checkpoint = SafeTensorsCheckpoint.OpenFolder(dir.Path);
            Assert.Equal(model.Select(m => m.Name).Order(StringComparer.Ordinal), checkpoint.Names);
            foreach (var (name, t) in model)
            {
                using var loaded = checkpoint.Load(name);
                TensorAssert.Identical(t, loaded, name);
            }
            Assert.Equal(dir.File("model-00001-of-00004.safetensors"), checkpoint.FileOf("embeddings.weight"));
            Assert.Equal(dir.File("model-00003-of-00004.safetensors"), checkpoint.FileOf("position_ids"));
            Assert.Equal(SafeTensorDType.BF16, checkpoint.Info("encoder.1.weight").DType);
        }
        finally
        {
            DisposeAll(model);
        }
    }

    [Fact]
    public void Index_Json_Is_Written_As_Transformers_Writes_It()
    {
        using var dir = new TempFolder();
        using var a = ones(4);
        using var b = ones(4);
        using var c = ones(2, dtype: ScalarType.Float64);
        SafeTensorsWriter.SaveSharded(dir.Path, [("b.weight", b), ("a.weight", a), ("c.é", c)], maxShardBytes: 32);
        // json.dumps({"metadata": {"total_size": 48}, "weight_map": ...}, indent=2, sort_keys=True) + "\n"
        var expected = """
            {
              "metadata": {
                "total_size": 48
              },
              "weight_map": {
                "a.weight": "model-00001-of-00002.safetensors",
                "b.weight": "model-00001-of-00002.safetensors",
                "c.\u00e9": "model-00002-of-00002.safetensors"
              }
            }

            """.Replace("\r\n", "\n");
        Assert.Equal(expected, File.ReadAllText(dir.File("model.safetensors.index.json")));
    }

    [Fact]
    public void Everything_Fitting_One_Shard_Writes_Plain_File_And_No_Index()
    {
        using var dir = new TempFolder();
        var model = Model();
        try
        {
            var written = SafeTensorsWriter.SaveSharded(dir.Path, model, maxShardBytes: 10_000);
            Assert.Equal([dir.File("model.safetensors")], written);
            Assert.Equal(["model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
            using var checkpoint = SafeTensorsCheckpoint.OpenFolder(dir.Path);
            Assert.Equal(model.Count, checkpoint.Names.Count);
        }
        finally
        {
            DisposeAll(model);
        }
    }

    [Fact]
    public void Resaving_With_Fewer_Shards_Removes_Stale_Shards_And_Index()
    {
        using var dir = new TempFolder();
        var model = Model();
        try
        {
            SafeTensorsWriter.SaveSharded(dir.Path, model, maxShardBytes: 100);
            SafeTensorsWriter.SaveSharded(dir.Path, model, maxShardBytes: 200);
            // 160 | 64+16+32+64 | 32: three shards now, so the four of the first save must not linger.
            Assert.Equal(
                ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
                 "model.safetensors.index.json"],
                Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            SafeTensorsWriter.SaveSharded(dir.Path, model, maxShardBytes: 10_000);
            Assert.Equal(["model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        }
        finally
        {
            DisposeAll(model);
        }
    }
}
