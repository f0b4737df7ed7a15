using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using FineTuning.Models;
using FineTuning.Models.Bert;
using Xunit.Abstractions;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// config.json claiming absurd sizes beside a real checkpoint (the bert-tiny-shaped pretrained-tiny fixture): every
/// case must fail fast with a <see cref="CheckpointException"/> naming config.json and a field it changed, having
/// allocated next to nothing — the sizes are checked against the safetensors header and the machine's memory before the
/// model is built (<c>BertWeightShapes</c>). HF builds the model first, so the same config.json makes it allocate
/// the whole model (or get killed for lack of memory) before it reports a size mismatch.
/// </summary>
public sealed class ConfigSizeFuzzTests(ITestOutputHelper output) : IDisposable
{
    static readonly string[] SizeFields =
        ["vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size", "max_position_embeddings", "type_vocab_size", "num_attention_heads"];

    /// <summary>Per case: far below what any refused model would need (the smallest is 8 GB).</summary>
    static readonly TimeSpan MaxTimePerCase = TimeSpan.FromSeconds(5);
    const long MaxManagedBytesPerCase = 32L << 20;
    const long MaxResidentGrowth = 1L << 30;

    readonly TempFolder tmp = new();

    public void Dispose() => tmp.Dispose();

    static int Seed => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var s) ? s : 1;

    /// <summary>A folder with pretrained-tiny's weights (a link to the shared file) and an editable copy of its config.json.</summary>
    string Folder()
    {
        var folder = tmp.File("model");
        Directory.CreateDirectory(folder);
        File.CreateSymbolicLink(Path.Combine(folder, "model.safetensors"), SharedFixtures.Path("fixtures", "pretrained-tiny", "model.safetensors"));
        File.Copy(SharedFixtures.Path("fixtures", "pretrained-tiny", "config.json"), Path.Combine(folder, "config.json"));
        return folder;
    }

    static JsonObject Original => JsonNode.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "pretrained-tiny", "config.json")))!.AsObject();

    /// <summary>Loads through a random entry point; returns the exception, the time and the managed bytes allocated.</summary>
    static (Exception? Error, TimeSpan Time, long Allocated) Load(string folder, int entry, bool ignoreMismatchedSizes)
    {
        var clock = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            IDisposable model = entry switch
            {
                0 => AutoModelForSequenceClassification.FromPretrained(folder, numLabels: 2, ignoreMismatchedSizes: ignoreMismatchedSizes),
                1 => AutoModel.FromPretrained(folder),
                _ => BertModel.FromPretrained(folder, ignoreMismatchedSizes),
            };
            model.Dispose();
            return (null, clock.Elapsed, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        catch (Exception e)
        {
            return (e, clock.Elapsed, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    [FixtureTheory("fixtures", "pretrained-tiny")]
    [InlineData("vocab_size", "1000000000000", "field 'vocab_size': 1000000000000 is out of the 32-bit integer range")]
    [InlineData("vocab_size", "1000000000", "vocab_size 1000000000 disagrees with the checkpoint's bert.embeddings.word_embeddings.weight [30522, 128]")]
    [InlineData("hidden_size", "1000000000", "hidden_size 1000000000 disagrees with the checkpoint's bert.embeddings.word_embeddings.weight [30522, 128]")]
    [InlineData("intermediate_size", "1000000000", "intermediate_size 1000000000 disagrees with the checkpoint's bert.encoder.layer.0.intermediate.dense.weight [512, 128]")]
    [InlineData("num_hidden_layers", "1000000000", "most of it is the encoder, num_hidden_layers 1000000000 × 198,272 parameters per layer")]
    public void Absurd_Size_Beside_A_Real_Checkpoint_Fails_Fast_With_The_Field_Named(string field, string value, string message)
    {
        var folder = Folder();
        var json = Original;
        json[field] = JsonNode.Parse(value);
        File.WriteAllText(Path.Combine(folder, "config.json"), json.ToJsonString());
        long resident = Environment.WorkingSet;

        var (error, time, allocated) = Load(folder, entry: 0, ignoreMismatchedSizes: false);
        var e = Assert.IsType<CheckpointException>(error);
        Assert.StartsWith(Path.Combine(folder, "config.json") + ": ", e.Message);
        Assert.Contains(message, e.Message);
        Assert.Equal(field, e.Key);
        Assert.True(time < MaxTimePerCase, $"{time.TotalSeconds:F1} s");
        Assert.True(allocated < MaxManagedBytesPerCase, $"{allocated >> 20} MB allocated");
        Assert.True(Environment.WorkingSet - resident < MaxResidentGrowth, $"resident memory grew by {(Environment.WorkingSet - resident) >> 20} MB");
    }

    /// <summary>
    /// 300 seeded cases: one to three size fields set to huge, boundary or invalid values (2^24 to 2^31 - 1, 2^31, 10^12,
    /// 1e300, 0, -1, 1.5), through the three entry points, with and without ignoreMismatchedSizes. With this much memory
    /// (the limit a test can set) every one is too big or inconsistent, so every one must be refused.
    /// </summary>
    [FixtureFact("fixtures", "pretrained-tiny")]
    public void Fuzzed_Sizes_Are_Refused_Fast_And_Without_Allocating()
    {
        var folder = Folder();
        var configPath = Path.Combine(folder, "config.json");
        using var limit = BertWeightShapes.LimitMemoryForTests(4L << 30);
        long resident = Environment.WorkingSet;
        var failures = new List<string>();
        var refusals = new Dictionary<string, int>();
        var slowest = TimeSpan.Zero;
        const int cases = 300;
        for (int i = 0; i < cases; i++)
        {
            var random = new Random(unchecked(Seed * 7919 + i));
            var json = Original;
            var changed = new List<string>();
            foreach (var field in SizeFields.OrderBy(_ => random.Next()).Take(random.Next(1, 4)))
            {
                json[field] = JsonNode.Parse(random.Next(10) switch
                {
                    < 6 => random.NextInt64(1 << 24, int.MaxValue).ToString(CultureInfo.InvariantCulture),
                    6 => int.MaxValue.ToString(CultureInfo.InvariantCulture),
                    7 => new[] { "2147483648", "1000000000000", "1e300" }[random.Next(3)],
                    8 => new[] { "0", "-1" }[random.Next(2)],
                    _ => "1.5",
                });
                changed.Add(field);
            }
            File.WriteAllText(configPath, json.ToJsonString());
            int entry = random.Next(3);
            bool ignore = random.Next(2) == 0;
            string Case() => $"case {i} (FUZZ_SEED={Seed}; entry {entry}, ignoreMismatchedSizes {ignore}; "
                             + string.Join(", ", changed.Select(f => $"{f} {json[f]!.ToJsonString()}")) + ")";

            var (error, time, allocated) = Load(folder, entry, ignore);
            if (time > slowest) slowest = time;
            if (error is not CheckpointException e)
                failures.Add($"{Case()}: {(error is null ? "loaded" : $"{error.GetType().Name}: {error.Message}")}");
            else if (!e.Message.StartsWith(configPath + ": ", StringComparison.Ordinal) || !changed.Any(f => e.Message.Contains(f, StringComparison.Ordinal)))
                failures.Add($"{Case()}: the message names neither config.json nor a changed field: {e.Message}");
            else if (time > MaxTimePerCase || allocated > MaxManagedBytesPerCase)
                failures.Add($"{Case()}: {time.TotalSeconds:F1} s, {allocated >> 20} MB allocated");
            else
            {
                var reason = System.Text.RegularExpressions.Regex.Replace(e.Message[(configPath.Length + 2)..], @"[0-9][0-9,.]*", "_");
                reason = reason.Length > 90 ? reason[..90] : reason;
                refusals[reason] = refusals.GetValueOrDefault(reason) + 1;
            }
        }
        long growth = Environment.WorkingSet - resident;
        output.WriteLine($"{cases} cases, slowest {slowest.TotalMilliseconds:F0} ms, resident memory {growth >> 20:+#;-#;0} MB");
        foreach (var (reason, n) in refusals.OrderByDescending(p => p.Value)) output.WriteLine($"  {n,4} × {reason}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases failed:\n" + string.Join("\n", failures.Take(10)));
        Assert.True(growth < MaxResidentGrowth, $"resident memory grew by {growth >> 20} MB");
    }
}
