using System.Text.Json;
using FineTuning.Data;
using FineTuning.Models.Bert;
using FineTuning.Tokenizers;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Tests.Training;

/// <summary>
/// HF's training recipe, step by step, against the trajectory HF recorded (training_trajectory.json, run
/// "adamw_torch"): seqcls-model with dropout 0, MRPC train rows 0–159 in order, batches of 8 with dynamic padding,
/// AdamW (lr 5e-5, weight decay 0.01 except biases/LayerNorm), linear schedule with 2 warmup steps over 20,
/// clipping at 1.0. The pieces are the library's: tokenizer, collator, optimizer groups, scheduler.
/// </summary>
public class TrajectoryParityTests
{
    [FixtureFact]
    public void Twenty_Steps_Match_HFs_Loss_Learning_Rate_And_Grad_Norm()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "training_trajectory.json")));
        var hp = json.RootElement.GetProperty("hyperparameters");
        var steps = json.RootElement.GetProperty("runs").GetProperty("adamw_torch").GetProperty("steps").EnumerateArray().ToList();

        var folder = SharedFixtures.Path("fixtures", "seqcls-model");
        var config = BertConfig.FromPretrained(folder) with { HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0 };
        using var model = BertForSequenceClassification.FromPretrained(folder, config);
        model.train();

        var tokenizer = AutoTokenizer.FromPretrained(folder);
        var train = Datasets.LoadDataset("glue", "mrpc", dataDir: SharedFixtures.Path("assets", "mrpc"))["train"]
            .Select(Enumerable.Range(0, 160))
            .Map(b => tokenizer.Call(b.Strings("sentence1"), b.Strings("sentence2"), truncation: true), batched: true)
            .RemoveColumns("sentence1", "sentence2", "idx");
        var loader = new DataLoader(train, new DataCollatorWithPadding(tokenizer), batchSize: hp.GetProperty("batch_size").GetInt32());

        var args = new TrainingArguments
        {
            OutputDir = Path.GetTempPath(),
            LearningRate = hp.GetProperty("learning_rate").GetDouble(),
            WeightDecay = hp.GetProperty("weight_decay").GetDouble(),
            WarmupSteps = hp.GetProperty("warmup_steps").GetInt32(),
            MaxGradNorm = hp.GetProperty("max_grad_norm").GetDouble(),
        };
        using var optimizer = OptimizerFactory.CreateOptimizer(model, args);
        var scheduler = LrScheduler.Create(optimizer, args, numTrainingSteps: hp.GetProperty("total_steps").GetInt32());

        int step = 0;
        foreach (var batch in loader.Batches())
        {
            using var scope = NewDisposeScope();
            var expected = steps[step++];
            Assert.Equal(expected.GetProperty("batch_padded_length").GetInt64(), batch.InputIds.shape[1]);
            double lrApplied = scheduler.LastLr[0];

            var loss = model.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds, batch.Labels).Loss!;
            loss.backward();
            double gradNorm = nn.utils.clip_grad_norm_(model.parameters(), args.MaxGradNorm);
            optimizer.step();
            scheduler.Step();
            optimizer.zero_grad();
            batch.Dispose();

            Near(expected.GetProperty("loss").GetDouble(), loss.item<float>(), 1e-4, $"step {step} loss");
            Near(expected.GetProperty("lr_applied").GetDouble(), lrApplied, 1e-9, $"step {step} lr applied");
            Near(expected.GetProperty("lr_logged").GetDouble(), scheduler.LastLr[0], 1e-9, $"step {step} lr logged");
            Near(expected.GetProperty("grad_norm_before_clip").GetDouble(), gradNorm, 1e-4, $"step {step} grad norm");
        }
        Assert.Equal(20, step);

        // After 20 updates the weights are HF's too: every parameter's L2 norm. Absolute floor 1e-6: the key biases'
        // gradients are exactly zero in theory (softmax ignores a shift shared by all keys), so they only drift by
        // rounding noise of ~1e-8 in either framework.
        var final = json.RootElement.GetProperty("runs").GetProperty("adamw_torch").GetProperty("final_parameters").GetProperty("param_summary");
        var ours = model.state_dict();
        foreach (var p in final.EnumerateObject())
        {
            if (!ours.TryGetValue(p.Name, out var t)) continue; // position_ids buffer (HF 4.26 persisted it)
            using var l2 = t.to_type(ScalarType.Float64).norm();
            Near(p.Value.GetProperty("l2").GetDouble(), l2.item<double>(), 1e-4, $"{p.Name} L2 after 20 steps", atol: 1e-6);
        }
        Assert.Equal(ours.Count, final.EnumerateObject().Count(p => ours.ContainsKey(p.Name)));
    }

    static void Near(double expected, double actual, double rtol, string what, double atol = 1e-12) =>
        Assert.True(Math.Abs(actual - expected) <= rtol * Math.Abs(expected) + atol, $"{what}: {actual:R}, HF {expected:R}");
}
