using FineTuning.Peft;

namespace FineTuning.Benchmarks;

/// <summary>
/// Part f: what LoRA saves against full fine-tuning on the same shape and batch (8 × 128, fp32): trainable
/// parameters, AdamW's state (two fp32 moments per trainable parameter, so it shrinks with them) and the train step
/// time, the two taking turns in one process. LoRA as the lesson sets it: r 8, alpha 16, query and value, the
/// classifier trained in full (SEQ_CLS).
/// </summary>
public sealed record LoraCostResult(string Shape, long AllParameters, long FullTrainable, long LoraTrainable,
    long FullStateBytes, long LoraStateBytes, int Rounds, int StepsPerRun, Figure FullMs, Figure LoraMs)
{
    public static LoraConfig Config => new()
    {
        TaskType = TaskType.SEQ_CLS, R = 8, LoraAlpha = 16, TargetModules = ["query", "value"],
    };

    public static LoraCostResult Measure(Options o, BertShape shape)
    {
        int warmup = shape == BertShape.Base ? o.BaseWarmup : o.TinyWarmup;
        int steps = shape == BertShape.Base ? o.BaseSteps : o.TinySteps;
        using var full = new OurTrainStep(shape);
        using var lora = new OurTrainStep(shape, lora: Config);
        var fullRuns = new List<double>();
        var loraRuns = new List<double>();
        for (int round = 0; round < o.Rounds; round++)
        {
            int w = round == 0 ? warmup : Math.Min(warmup, 1);
            void Full() => fullRuns.Add(Figure.MedianOf(full.Run(w, steps, bf16: false)));
            void Lora() => loraRuns.Add(Figure.MedianOf(lora.Run(w, steps, bf16: false)));
            if (round % 2 == 0) { Full(); Lora(); } else { Lora(); Full(); }
            Console.WriteLine($"    {shape.Name} round {round + 1}: full {fullRuns[^1]:F1} ms/step, LoRA {loraRuns[^1]:F1} ms/step");
        }
        // The moments exist once the optimizer has stepped (Run did).
        return new LoraCostResult(shape.Name, full.Parameters.All, full.Parameters.Trainable, lora.Parameters.Trainable,
            full.OptimizerStateBytes, lora.OptimizerStateBytes, o.Rounds, steps, Figure.Of(fullRuns), Figure.Of(loraRuns));
    }
}
