using System.Diagnostics;
using FineTuning.Amp;
using FineTuning.Models.Bert;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>Median milliseconds of each phase of a train step, for one variant.</summary>
public sealed record StepPhases(string Variant, double ForwardMs, double BackwardMs, double ClipMs, double OptimizerMs, double TotalMs);

/// <summary>
/// Part p (opt-in: --parts p): where a train step's time goes (batch 8 × 128, the Trainer's step: forward with loss,
/// backward, clip_grad_norm_(1.0), fused AdamW, gradients to none), per phase, for the bert-base and MiniLM shapes in
/// fp32 and (where the CPU computes it natively) bf16 autocast; with dropout as the models have it (0.1) and with
/// dropout off, the two taking turns step by step (dropout off is the bound of anything that makes its random numbers
/// cheaper), and with only the attention probabilities' dropout off. Also the cost of the Trainer's GC.Collect(1) every 10 steps and of a loss .item(). bench/NOTES.md.
/// </summary>
public sealed record StepProfileResult(string Shape, string Precision, double StepGFlop, IReadOnlyList<StepPhases> Variants,
    double GcCollectMs, double ItemMs)
{
    public static readonly BertShape MiniLM = new("minilm", 6, 384, 12, 1536);

    public static StepProfileResult Measure(BertShape shape, bool bf16, int steps, int batch = 8, int seq = 128)
    {
        manual_seed(42);
        // (name, hidden dropout, attention-probability dropout). Attention dropout > 0 keeps sdpa on its math path
        // (libtorch's CPU flash-attention kernel takes no dropout), so the third variant separates the two costs.
        var dropouts = new[] { ("dropout 0.1 (the models')", 0.1, 0.1), ("attention dropout off", 0.1, 0.0), ("dropout off", 0.0, 0.0) };
        var models = dropouts.Select(d => new BertForSequenceClassification(shape.Config() with
            { HiddenDropoutProb = d.Item2, AttentionProbsDropoutProb = d.Item3 })).ToArray();
        var optimizers = models.Select(m => OptimizerFactory.CreateOptimizer(m, new TrainingArguments { OutputDir = Path.GetTempPath() })).ToArray();
        var ids = randint(1000, shape.Vocab, [batch, seq], dtype: ScalarType.Int64);
        var types = zeros([batch, seq], dtype: ScalarType.Int64);
        types[.., (seq / 2)..] = 1;
        var mask = ones([batch, seq], dtype: ScalarType.Int64);
        mask[..(batch / 2), (seq - 16)..] = 0;
        var labels = randint(0, 2, [batch], dtype: ScalarType.Int64);
        var phases = dropouts.Select(_ => new List<double[]>()).ToArray();
        var gc = new List<double>();
        var item = new List<double>();
        for (int s = 0; s <= steps; s++)                       // step 0 of each variant is a warm-up
            for (int v = 0; v < models.Length; v++)
            {
                var model = models[v];
                var parameters = model.parameters().ToArray();
                model.train();
                var t = new double[5];
                var clock = Stopwatch.StartNew();
                using (var scope = NewDisposeScope())
                {
                    Tensor loss;
                    using (Autocast.Enable(bf16 ? ScalarType.BFloat16 : null))
                        loss = model.forward(ids, mask, types, labels).Loss!;
                    t[0] = clock.Elapsed.TotalMilliseconds;
                    loss.backward();
                    t[1] = clock.Elapsed.TotalMilliseconds;
                    var itemClock = Stopwatch.StartNew();
                    loss.item<float>();
                    if (s > 0) item.Add(itemClock.Elapsed.TotalMilliseconds);
                    nn.utils.clip_grad_norm_(parameters, 1.0);
                    t[2] = clock.Elapsed.TotalMilliseconds;
                    optimizers[v].step();
                    model.zero_grad();
                    t[3] = clock.Elapsed.TotalMilliseconds;
                }
                t[4] = clock.Elapsed.TotalMilliseconds;
                if (s > 0) phases[v].Add(t);
                var gcClock = Stopwatch.StartNew();
                GC.Collect(1);
                if (s > 0) gc.Add(gcClock.Elapsed.TotalMilliseconds);
            }
        foreach (var o in optimizers) o.Dispose();
        foreach (var m in models) m.Dispose();
        double Med(List<double[]> runs, Func<double[], double> f) => Figure.MedianOf(runs.Select(f).ToList());
        var result = dropouts.Select((d, v) => new StepPhases(d.Item1, Med(phases[v], t => t[0]), Med(phases[v], t => t[1] - t[0]),
            Med(phases[v], t => t[2] - t[1]), Med(phases[v], t => t[3] - t[2]), Med(phases[v], t => t[4]))).ToList();
        var r = new StepProfileResult(shape.Name, bf16 ? "bf16" : "fp32", shape.TrainStepFlops(batch, seq) / 1e9, result,
            Figure.MedianOf(gc), Figure.MedianOf(item));
        foreach (var p in result)
            Console.WriteLine($"    {shape.Name} {r.Precision} {p.Variant}: forward {p.ForwardMs:F0}, backward {p.BackwardMs:F0}, clip {p.ClipMs:F0}, "
                + $"AdamW+zero_grad {p.OptimizerMs:F0}, step {p.TotalMs:F0} ms ({r.StepGFlop / (p.TotalMs / 1000):F0} GFLOP/s)");
        Console.WriteLine($"    GC.Collect(1) {r.GcCollectMs:F2} ms, loss.item() {r.ItemMs:F3} ms");
        return r;
    }
}
