using System.Collections;
using FineTuning.Data;
using FineTuning.Models.Bert;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Tests.Training;

/// <summary>Small models and a learnable synthetic task for Trainer tests (HF's BertModelTester sizes).</summary>
static class TinyTraining
{
    public const int Vocab = 24;
    public const int Marker = 7;

    /// <summary>A randomly initialised 2-layer BERT classifier, hidden 32, from <paramref name="seed"/>.</summary>
    public static BertForSequenceClassification Model(int seed = 0, double dropout = 0.0)
    {
        manual_seed(seed);
        var config = new BertConfig
        {
            VocabSize = Vocab, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 64,
            MaxPositionEmbeddings = 32, HiddenDropoutProb = dropout, AttentionProbsDropoutProb = dropout,
        }.WithNumLabels(2);
        var model = new BertForSequenceClassification(config);
        return model;
    }

    /// <summary>
    /// Label 1 when the sequence contains token <see cref="Marker"/>, else 0 (balanced); [CLS]=1 ... [SEP]=2,
    /// lengths 5..12. A model must look at every position to solve it.
    /// </summary>
    public static Dataset MarkerTask(int count, int seed)
    {
        var random = new Random(seed);
        var ids = new List<int[]>();
        var labels = new List<int>();
        for (int i = 0; i < count; i++)
        {
            int label = i % 2;
            int length = random.Next(3, 11);
            var body = Enumerable.Range(0, length).Select(_ => NonMarker(random)).ToArray();
            if (label == 1) body[random.Next(length)] = Marker;
            ids.Add([1, .. body, 2]);
            labels.Add(label);
        }
        return Dataset.FromColumns(new Dictionary<string, IList> { ["input_ids"] = ids, ["label"] = labels });
    }

    static int NonMarker(Random random)
    {
        int t;
        do t = random.Next(3, Vocab); while (t == Marker);
        return t;
    }

    /// <summary>Arguments for a quick CPU run: no logging noise, no checkpoints unless asked.</summary>
    public static TrainingArguments Args(string outputDir) => new()
    {
        OutputDir = outputDir,
        UseCpu = true,
        LearningRate = 1e-3,
        PerDeviceTrainBatchSize = 16,
        PerDeviceEvalBatchSize = 32,
        SaveStrategy = SaveStrategy.No,
        LoggingSteps = 1,
        DisableTqdm = true,
    };

    public static double[] Losses(TrainerState state) =>
        state.LogHistory.Where(e => e.ContainsKey("loss")).Select(e => e["loss"]).ToArray();

    /// <summary>Every weight, by name, copied to the CPU.</summary>
    public static Dictionary<string, float[]> Weights(nn.Module model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.cpu().to_type(ScalarType.Float32).data<float>().ToArray());
}

/// <summary>Stops training at the end of epoch <paramref name="epochs"/>, so a run of N epochs can be cut short with the
/// N-epoch schedule (as an interruption would).</summary>
sealed class StopAfterEpoch(int epochs) : TrainerCallback
{
    public override void OnEpochEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (state.Epoch >= epochs) control.ShouldTrainingStop = true;
    }
}
