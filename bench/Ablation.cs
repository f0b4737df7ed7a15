using System.Diagnostics;
using FineTuning.Models.Bert;
using FineTuning.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Benchmarks;

/// <summary>One way of running the train step: the optimizer, how gradients are cleared, attention, clipping.</summary>
/// <param name="Name">how the report names it</param>
/// <param name="Optim">TrainingArguments.Optim: "adamw_torch" (TorchSharp's AdamW) or "adamw_torch_fused"</param>
/// <param name="GradsToNone">clear gradients by setting them to none (model.zero_grad()) instead of zero-filling</param>
/// <param name="Attention">"sdpa" or "eager"</param>
/// <param name="Clip">clip_grad_norm_(1.0) before the step, as the Trainer does</param>
public sealed record StepVariant(string Name, string Optim, bool GradsToNone, string Attention, bool Clip);

/// <summary>
/// Part x (opt-in: --parts x): what each change of bench/NOTES.md buys, measured as before/after in one process.
/// The variants do not change the math, only its cost, so they share one model and take turns step by step
/// (the load of a shared machine then falls on all of them alike); each reports its median step.
/// </summary>
public sealed record AblationResult(string Shape, IReadOnlyList<string> Variants, IReadOnlyList<Figure> StepMs)
{
    public static readonly StepVariant[] All =
    [
        new("before: AdamW (unfused), zero-filled grads", "adamw_torch", false, "sdpa", false),
        new("FusedAdamW, zero-filled grads", "adamw_torch_fused", false, "sdpa", false),
        new("FusedAdamW, grads to none (the library now)", "adamw_torch_fused", true, "sdpa", false),
        new("  … with eager attention instead of sdpa", "adamw_torch_fused", true, "eager", false),
        new("  … with clip_grad_norm_ (the Trainer's)", "adamw_torch_fused", true, "sdpa", true),
    ];

    public static AblationResult Measure(BertShape shape, int steps, int batch = 8, int seq = 128)
    {
        manual_seed(42);
        using var model = new BertForSequenceClassification(shape.Config());
        model.train();
        var optimizers = All.Select(v => v.Optim).Distinct().ToDictionary(o => o,
            o => OptimizerFactory.CreateOptimizer(model, new TrainingArguments { OutputDir = Path.GetTempPath(), Optim = o, WeightDecay = 0.01 }));
        var parameters = model.parameters().ToArray();
        var attention = model.BaseModel.Encoder.Layers.Select(l => l.Attention.Self).ToArray();
        var ids = randint(1000, shape.Vocab, [batch, seq], dtype: ScalarType.Int64);
        var types = zeros([batch, seq], dtype: ScalarType.Int64);
        types[.., (seq / 2)..] = 1;
        var mask = ones([batch, seq], dtype: ScalarType.Int64);
        mask[..(batch / 2), (seq - 16)..] = 0;
        var labels = randint(0, 2, [batch], dtype: ScalarType.Int64);
        var times = All.Select(_ => new List<double>()).ToArray();
        for (int s = 0; s <= steps; s++)                       // step 0 of each variant is a warm-up
            for (int v = 0; v < All.Length; v++)
            {
                var variant = All[v];
                foreach (var a in attention) a.AttnImplementation = variant.Attention;
                var optimizer = optimizers[variant.Optim];
                var clock = Stopwatch.StartNew();
                using (var scope = NewDisposeScope())
                {
                    if (variant.GradsToNone) model.zero_grad(); else optimizer.zero_grad();
                    var loss = model.forward(ids, mask, types, labels).Loss!;
                    loss.backward();
                    if (variant.Clip) nn.utils.clip_grad_norm_(parameters, 1.0);
                    optimizer.step();
                    loss.item<float>();
                }
                if (s > 0) times[v].Add(clock.Elapsed.TotalMilliseconds);
            }
        foreach (var o in optimizers.Values) o.Dispose();
        foreach (var a in attention) a.AttnImplementation = "sdpa";
        var figures = times.Select(Figure.Of).ToList();
        for (int v = 0; v < All.Length; v++) Console.WriteLine($"    {shape.Name} {All[v].Name}: {figures[v].Format()} ms");
        return new AblationResult(shape.Name, All.Select(v => v.Name).ToList(), figures);
    }
}
