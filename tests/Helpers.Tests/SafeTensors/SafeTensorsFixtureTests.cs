using System.Text.Json;
using FineTuning.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Tests.SafeTensors;

/// <summary>Reads the reference checkpoint written from the format spec by the Python harness.</summary>
public class SafeTensorsFixtureTests
{
    static string Fixture(string file) => SharedFixtures.Path("fixtures", "seqcls-model", file);

    [FixtureFact("fixtures", "seqcls-model", "model.safetensors")]
    public void SeqCls_Model_Names_DTypes_And_Shapes_Match_Manifest()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Fixture("MANIFEST.json")));
        var expected = manifest.RootElement.GetProperty("model.safetensors").GetProperty("tensors").EnumerateObject()
            .ToDictionary(p => p.Name, p => (
                DType: p.Value.GetProperty("dtype").GetString() switch
                {
                    "torch.float32" => SafeTensorDType.F32,
                    "torch.int64" => SafeTensorDType.I64,
                    var other => throw new InvalidOperationException($"manifest dtype {other}"),
                },
                Shape: p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray()));

        using var file = SafeTensorsFile.Open(Fixture("model.safetensors"));
        // The manifest is the source of truth for the count (42: the fixtures README's "41" is off by one).
        Assert.Equal(expected.Count, file.Names.Count);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), file.Names);
        foreach (var name in file.Names)
        {
            var info = file.Info(name);
            Assert.True(expected[name].DType == info.DType, $"{name}: {info.DType}");
            Assert.True(expected[name].Shape.SequenceEqual(info.Shape), $"{name}: [{string.Join(",", info.Shape)}]");
        }
        Assert.Equal("pt", file.Metadata!["format"]);
    }

    [FixtureFact("fixtures", "seqcls-model", "classifier_head.json")]
    public void SeqCls_Classifier_Weight_Equals_Reference_Json()
    {
        using var head = JsonDocument.Parse(File.ReadAllBytes(Fixture("classifier_head.json")));
        var rows = head.RootElement.GetProperty("classifier.weight").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();

        using var file = SafeTensorsFile.Open(Fixture("model.safetensors"));
        using var weight = file.Load("classifier.weight");
        Assert.Equal(new long[] { rows.Length, rows[0].Length }, weight.shape);
        var actual = weight.data<float>().ToArray();
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < rows[i].Length; j++)
            {
                // 9 significant digits identify a float32 exactly; 1e-7 relative only absorbs printing.
                float e = rows[i][j], a = actual[i * rows[i].Length + j];
                Assert.True(Math.Abs(a - e) <= 1e-7 * Math.Abs(e), $"[{i},{j}] {a} != {e}");
            }
        using var bias = file.Load("classifier.bias");
        Assert.Equal(new[] { 0f, 0f }, bias.data<float>().ToArray());
    }

    [FixtureFact("fixtures", "seqcls-model", "model.safetensors")]
    public void SeqCls_Model_Rewritten_By_Our_Writer_Reads_Back_Identical()
    {
        using var dir = new TempFolder();
        using var source = SafeTensorsFile.Open(Fixture("model.safetensors"));
        var tensors = source.Names.Select(n => (n, source.Load(n))).ToList();
        try
        {
            var copy = dir.File("model.safetensors");
            SafeTensorsWriter.Save(copy, tensors);
            using var reread = SafeTensorsFile.Open(copy);
            Assert.Equal(source.Names, reread.Names);
            foreach (var (name, t) in tensors)
            {
                using var again = reread.Load(name);
                TensorAssert.Identical(t, again, name);
            }
            // Same layout rule as the reference writer (sorted names, contiguous data), so the data sections match byte for byte.
            Assert.True(RawSafeTensors.ReadData(Fixture("model.safetensors")).AsSpan().SequenceEqual(RawSafeTensors.ReadData(copy)));
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    [FixtureFact("fixtures", "tiny-random-bert", "pytorch_model.bin")]
    public void Pickle_Only_Fixture_Folder_Is_Refused_With_Conversion_Advice()
    {
        var folder = SharedFixtures.Path("fixtures", "tiny-random-bert");
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(folder));
        Assert.Contains("pytorch_model.bin", e.Message);
        Assert.Contains("never executes pickle", e.Message);
        Assert.Contains("save_pretrained", e.Message);
        Assert.Contains("safe_serialization=True", e.Message);
    }
}
