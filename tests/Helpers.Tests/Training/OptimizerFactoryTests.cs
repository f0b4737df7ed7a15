using System.Text.Json;
using FineTuning.Models;
using FineTuning.Training;
using TorchSharp;

namespace FineTuning.Tests.Training;

public class OptimizerFactoryTests
{
    static List<string> Names(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToList();

    [FixtureFact("fixtures", "training_trajectory.json")]
    public void Decay_groups_match_hf()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path("fixtures", "training_trajectory.json")));
        using var model = AutoModelForSequenceClassification.FromPretrained(SharedFixtures.Path("fixtures", "seqcls-model"));
        var (decay, noDecay) = OptimizerFactory.DecayParameterNames(model);
        Assert.Equal(Names(json.RootElement.GetProperty("decay_parameter_names")), decay);
        Assert.Equal(Names(json.RootElement.GetProperty("no_decay_parameter_names")), noDecay);
    }

    [FixtureFact("fixtures", "seqcls-model")]
    public void Optimizer_has_two_groups_with_hf_settings_and_skips_frozen_parameters()
    {
        using var model = AutoModelForSequenceClassification.FromPretrained(SharedFixtures.Path("fixtures", "seqcls-model"));
        var args = new TrainingArguments { OutputDir = "out", LearningRate = 3e-5, WeightDecay = 0.01, AdamBeta2 = 0.98, AdamEpsilon = 1e-6 };
        using (var optimizer = OptimizerFactory.CreateOptimizer(model, args))
        {
            var groups = optimizer.ParamGroups.Cast<TorchSharp.Modules.AdamW.ParamGroup>().ToList();
            Assert.Equal(2, groups.Count);
            Assert.Equal([0.01, 0.0], groups.Select(g => g.Options.weight_decay!.Value));
            Assert.All(groups, g => Assert.Equal(3e-5, g.LearningRate));
            Assert.All(groups, g => Assert.Equal((0.9, 0.98), g.Betas));
            Assert.All(groups, g => Assert.Equal(1e-6, g.Options.eps!.Value));
            var (decay, noDecay) = OptimizerFactory.DecayParameterNames(model);
            Assert.Equal(decay.Count, groups[0].Parameters.Count());
            Assert.Equal(noDecay.Count, groups[1].Parameters.Count());
        }

        // Freeze everything but the classifier (what LoRA-style training does): only trainable parameters remain.
        foreach (var (name, p) in model.named_parameters())
            if (!name.StartsWith("classifier.", StringComparison.Ordinal)) p.requires_grad = false;
        var (d, n) = OptimizerFactory.DecayParameterNames(model);
        Assert.Equal(["classifier.weight"], d);
        Assert.Equal(["classifier.bias"], n);
        using var frozen = OptimizerFactory.CreateOptimizer(model, args);
        Assert.Equal([1, 1], frozen.ParamGroups.Cast<TorchSharp.Modules.AdamW.ParamGroup>().Select(g => g.Parameters.Count()));
    }

    [Fact]
    public void Invalid_arguments_are_rejected_before_building()
    {
        using var model = torch.nn.Linear(2, 2);
        var e = Assert.Throws<ArgumentException>(() =>
            OptimizerFactory.CreateOptimizer(model, new TrainingArguments { OutputDir = "out", LearningRate = -1 }));
        Assert.Equal(nameof(TrainingArguments.LearningRate), e.ParamName);
    }

    [Fact]
    public void Scheduler_drives_adamw_param_groups_and_state_round_trips()
    {
        torch.manual_seed(0);
        using var model = torch.nn.Sequential(("dense", torch.nn.Linear(4, 4)), ("LayerNorm", torch.nn.LayerNorm(4)));
        Assert.Equal(["dense.weight"], OptimizerFactory.DecayParameterNames(model).Decay);
        Assert.Equal(["dense.bias", "LayerNorm.weight", "LayerNorm.bias"], OptimizerFactory.DecayParameterNames(model).NoDecay);

        var args = new TrainingArguments { OutputDir = "out", LearningRate = 1e-3, WeightDecay = 0.01, WarmupSteps = 2 };
        using var optimizer = OptimizerFactory.CreateOptimizer(model, args);
        var scheduler = LrScheduler.Create(optimizer, args, numTrainingSteps: 10);
        Assert.Equal(0, scheduler.CurrentStep);
        Assert.Equal([1e-3, 1e-3], scheduler.BaseLrs);
        Assert.All(optimizer.ParamGroups, g => Assert.Equal(0.0, g.LearningRate));

        using var x = torch.randn(3, 4);
        var before = model.parameters().Select(p => p.detach().clone()).ToList();
        for (var s = 1; s <= 4; s++)
        {
            optimizer.zero_grad();
            using var loss = model.forward(x).pow(2).sum();
            loss.backward();
            optimizer.step();
            if (s == 1) // lr 0 on the first step: AdamW changes nothing (weight decay is scaled by lr too)
                Assert.All(model.parameters().Zip(before), t => Assert.True(t.First.equal(t.Second).all().item<bool>()));
            scheduler.Step();
        }
        Assert.Equal(4, scheduler.CurrentStep);
        var expected = 1e-3 * (10 - 4) / 8.0;
        Assert.All(optimizer.ParamGroups, g => Assert.Equal(expected, g.LearningRate, 15));
        Assert.Equal([expected, expected], scheduler.LastLr);
        Assert.False(model.parameters().Zip(before).All(t => t.First.equal(t.Second).all().item<bool>()));

        // Resume: a fresh optimizer + scheduler, then the saved step.
        var state = scheduler.StateDict();
        Assert.Equal(new LrSchedulerState(4), state);
        using var optimizer2 = OptimizerFactory.CreateOptimizer(model, args);
        var resumed = LrScheduler.Create(optimizer2, args, numTrainingSteps: 10);
        resumed.LoadStateDict(state);
        Assert.Equal(4, resumed.CurrentStep);
        Assert.All(optimizer2.ParamGroups, g => Assert.Equal(expected, g.LearningRate, 15));
        scheduler.Step();
        resumed.Step();
        Assert.Equal(scheduler.LastLr, resumed.LastLr);
        Assert.Equal(1e-3 * 5 / 8.0, resumed.LastLr[0], 15);
    }
}
