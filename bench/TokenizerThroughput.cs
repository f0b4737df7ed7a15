using System.Diagnostics;

namespace FineTuning.Benchmarks;

/// <summary>Part d: MRPC train pairs tokenized per second by our BertTokenizer (one thread: Call is a plain loop).</summary>
public sealed record TokenizerResult(int Pairs, Figure PairsPerSecond, double? HfPairsPerSecond, string HfNote)
{
    public static TokenizerResult Measure(Options o, Mrpc mrpc)
    {
        var s1 = mrpc.Raw["train"].Column<string>("sentence1");
        var s2 = mrpc.Raw["train"].Column<string>("sentence2");
        mrpc.Tokenizer.Call(s1, s2, truncation: true, maxLength: 512); // warm-up (JIT, vocabulary lookups)
        var rates = new List<double>();
        for (int i = 0; i < o.TokenizerRuns; i++)
        {
            var clock = Stopwatch.StartNew();
            var encoded = mrpc.Tokenizer.Call(s1, s2, truncation: true, maxLength: 512);
            rates.Add(s1.Count / clock.Elapsed.TotalSeconds);
            GC.KeepAlive(encoded);
        }
        // HF's reference from the baseline json: train + dev (3668 + 408 pairs) tokenized with datasets.map, batched,
        // by the Rust "fast" tokenizer — a different measurement (it includes Arrow writes), quoted for scale only.
        double? hf = null;
        var path = Path.Combine(o.Shared, "bench", "hf_trainer_baseline.json");
        if (File.Exists(path))
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            var run = json.RootElement.GetProperty("runs").GetProperty("default_lr5e-5_bs8_ep3");
            double seconds = run.GetProperty("timing_s").GetProperty("tokenize_train_and_dev").GetDouble();
            hf = (run.GetProperty("train_examples").GetInt32() + run.GetProperty("dev_examples").GetInt32()) / seconds;
        }
        return new TokenizerResult(s1.Count, Figure.Of(rates), hf,
            "HF: train+dev through datasets.map with the Rust tokenizer (baseline json, its machine); includes Arrow writes");
    }
}
