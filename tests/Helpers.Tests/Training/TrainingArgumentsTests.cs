using FineTuning.Training;

namespace FineTuning.Tests.Training;

public class TrainingArgumentsTests
{
    static TrainingArguments Args() => new() { OutputDir = "out" };

    [Fact]
    public void Defaults_are_hugging_faces()
    {
        var a = Args();
        Assert.Equal(3.0, a.NumTrainEpochs);
        Assert.Equal(-1, a.MaxSteps);
        Assert.Equal(8, a.PerDeviceTrainBatchSize);
        Assert.Equal(8, a.PerDeviceEvalBatchSize);
        Assert.Equal(1, a.GradientAccumulationSteps);
        Assert.Equal(5e-5, a.LearningRate);
        Assert.Equal(0.0, a.WeightDecay);
        Assert.Equal(0.9, a.AdamBeta1);
        Assert.Equal(0.999, a.AdamBeta2);
        Assert.Equal(1e-8, a.AdamEpsilon);
        Assert.Equal(1.0, a.MaxGradNorm);
        Assert.Equal(SchedulerType.Linear, a.LrSchedulerType);
        Assert.Equal(0.0, a.WarmupRatio);
        Assert.Equal(0, a.WarmupSteps);
        Assert.Equal(IntervalStrategy.No, a.EvalStrategy);
        Assert.Equal(IntervalStrategy.Steps, a.LoggingStrategy);
        Assert.Equal(500.0, a.LoggingSteps);
        Assert.False(a.LoggingFirstStep);
        Assert.True(a.LoggingNanInfFilter);
        Assert.Equal(SaveStrategy.Steps, a.SaveStrategy);
        Assert.Equal(500.0, a.SaveSteps);
        Assert.Null(a.SaveTotalLimit);
        Assert.True(a.SaveSafetensors);
        Assert.Equal(42, a.Seed);
        Assert.Null(a.DataSeed);
        Assert.False(a.Fp16);
        Assert.False(a.Bf16);
        Assert.Null(a.EvalSteps);
        Assert.Equal("adamw_torch_fused", a.Optim); // HF's default with torch >= 2.8
        Assert.Equal("length", a.LengthColumnName);
        Assert.True(a.RemoveUnusedColumns);
        Assert.Equal(["none"], a.ReportTo);
        Assert.Empty(a.LrSchedulerKwargs);
        Assert.Equal("passive", a.LogLevel);
        a.Validate(); // the defaults are valid
    }

    [Fact]
    public void Derived_values_follow_hf_post_init()
    {
        var a = Args();
        Assert.Equal(500.0, a.EffectiveEvalSteps);
        Assert.Equal(100.0, (a with { EvalSteps = 100 }).EffectiveEvalSteps);
        Assert.Equal(50.0, (a with { EvalSteps = 0, LoggingSteps = 50 }).EffectiveEvalSteps);

        Assert.Null(a.EffectiveMetricForBestModel);
        Assert.Null(a.EffectiveGreaterIsBetter);
        var best = a with { LoadBestModelAtEnd = true };
        Assert.Equal("loss", best.EffectiveMetricForBestModel);
        Assert.False(best.EffectiveGreaterIsBetter);
        Assert.False((a with { MetricForBestModel = "eval_loss" }).EffectiveGreaterIsBetter);
        Assert.True((a with { MetricForBestModel = "accuracy" }).EffectiveGreaterIsBetter);
        Assert.False((a with { MetricForBestModel = "accuracy", GreaterIsBetter = false }).EffectiveGreaterIsBetter);

        Assert.Equal(0, a.GetWarmupSteps(100));
        Assert.Equal(7, (a with { WarmupRatio = 0.061 }).GetWarmupSteps(100)); // ceil(6.1)
        Assert.Equal(3, (a with { WarmupRatio = 0.5, WarmupSteps = 3 }).GetWarmupSteps(100));
        Assert.Equal(10, TrainingArguments.ResolveSteps(0.1, 95)); // ceil(9.5)
        Assert.Equal(20, TrainingArguments.ResolveSteps(20, 95));
    }

    public static TheoryData<string, string, string> InvalidCases() => new()
    {
        // case name, expected ParamName, a fragment of the message
        { "train batch 0", nameof(TrainingArguments.PerDeviceTrainBatchSize), "at least 1" },
        { "eval batch 0", nameof(TrainingArguments.PerDeviceEvalBatchSize), "at least 1" },
        { "lr negative", nameof(TrainingArguments.LearningRate), ">= 0" },
        { "warmup ratio 1.5", nameof(TrainingArguments.WarmupRatio), "[0,1]" },
        { "warmup steps -1", nameof(TrainingArguments.WarmupSteps), ">= 0" },
        { "accumulation 0", nameof(TrainingArguments.GradientAccumulationSteps), "at least 1" },
        { "no duration", nameof(TrainingArguments.NumTrainEpochs), "max_steps" },
        { "bf16 and fp16", nameof(TrainingArguments.Fp16), "not both" },
        { "adamw_hf", nameof(TrainingArguments.Optim), "adamw_torch" },
        { "unknown optim", nameof(TrainingArguments.Optim), "'sgd' is not supported" },
        { "save limit 0", nameof(TrainingArguments.SaveTotalLimit), "at least 1" },
        { "eval steps 0, logging 0", nameof(TrainingArguments.EvalSteps), "non-zero" },
        { "logging steps 0", nameof(TrainingArguments.LoggingSteps), "non-zero" },
        { "save steps 0", nameof(TrainingArguments.SaveSteps), "> 0" },
        { "save steps 2.5", nameof(TrainingArguments.SaveSteps), "must be an integer if bigger than 1" },
        { "best: strategies differ", nameof(TrainingArguments.SaveStrategy), "requires the save and eval strategy to match" },
        { "best: save not multiple", nameof(TrainingArguments.SaveSteps), "not a round multiple of 200" },
        { "best: ratio and steps", nameof(TrainingArguments.SaveSteps), "mixing ratio and absolute steps" },
        { "save best without metric", nameof(TrainingArguments.MetricForBestModel), "'best' save_strategy" },
        { "report_to wandb", nameof(TrainingArguments.ReportTo), "'wandb' is not available" },
        { "plateau without eval", nameof(TrainingArguments.LrSchedulerType), "requires an eval strategy" },
        { "log level", nameof(TrainingArguments.LogLevel), "'verbose'" },
        { "beta2 = 1", nameof(TrainingArguments.AdamBeta2), "[0, 1)" },
        { "grad norm NaN", nameof(TrainingArguments.MaxGradNorm), "max_grad_norm" },
    };

    static TrainingArguments Invalid(string name) => name switch
    {
        "train batch 0" => Args() with { PerDeviceTrainBatchSize = 0 },
        "eval batch 0" => Args() with { PerDeviceEvalBatchSize = 0 },
        "lr negative" => Args() with { LearningRate = -1e-5 },
        "warmup ratio 1.5" => Args() with { WarmupRatio = 1.5 },
        "warmup steps -1" => Args() with { WarmupSteps = -1 },
        "accumulation 0" => Args() with { GradientAccumulationSteps = 0 },
        "no duration" => Args() with { NumTrainEpochs = 0, MaxSteps = -1 },
        "bf16 and fp16" => Args() with { Bf16 = true, Fp16 = true },
        "adamw_hf" => Args() with { Optim = "adamw_hf" },
        "unknown optim" => Args() with { Optim = "sgd" },
        "save limit 0" => Args() with { SaveTotalLimit = 0 },
        "eval steps 0, logging 0" => Args() with { EvalStrategy = IntervalStrategy.Steps, EvalSteps = 0, LoggingSteps = 0 },
        "logging steps 0" => Args() with { LoggingSteps = 0 },
        "save steps 0" => Args() with { SaveSteps = 0 },
        "save steps 2.5" => Args() with { SaveSteps = 2.5 },
        "best: strategies differ" => Args() with { LoadBestModelAtEnd = true, EvalStrategy = IntervalStrategy.Epoch, SaveStrategy = SaveStrategy.Steps },
        "best: save not multiple" => Args() with { LoadBestModelAtEnd = true, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 200, SaveSteps = 500 },
        "best: ratio and steps" => Args() with { LoadBestModelAtEnd = true, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 0.3, SaveSteps = 500 },
        "save best without metric" => Args() with { SaveStrategy = SaveStrategy.Best, EvalStrategy = IntervalStrategy.Epoch },
        "report_to wandb" => Args() with { ReportTo = ["wandb"] },
        "plateau without eval" => Args() with { LrSchedulerType = SchedulerType.ReduceLrOnPlateau },
        "log level" => Args() with { LogLevel = "verbose" },
        "beta2 = 1" => Args() with { AdamBeta2 = 1.0 },
        "grad norm NaN" => Args() with { MaxGradNorm = double.NaN },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void Validate_names_the_field(string name, string paramName, string fragment)
    {
        var e = Assert.Throws<ArgumentException>(() => Invalid(name).Validate());
        Assert.Equal(paramName, e.ParamName);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Valid_best_model_settings_pass()
    {
        TrainingArguments[] valid =
        [
            Args() with { LoadBestModelAtEnd = true, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 100, SaveSteps = 500 },
            Args() with { LoadBestModelAtEnd = true, EvalStrategy = IntervalStrategy.Epoch, SaveStrategy = SaveStrategy.Epoch },
            Args() with { LoadBestModelAtEnd = true, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 0.1, SaveSteps = 0.2 },
            Args() with { LoadBestModelAtEnd = true, EvalStrategy = IntervalStrategy.Epoch, SaveStrategy = SaveStrategy.Best, MetricForBestModel = "f1" },
            // eval_steps null: HF uses logging_steps (500), and save_steps 500 is a multiple of it.
            Args() with { LoadBestModelAtEnd = true, EvalStrategy = IntervalStrategy.Steps },
        ];
        foreach (var a in valid) Assert.Same(a, a.Validated());
    }

    [Fact]
    public void Json_uses_hf_keys_and_values()
    {
        var json = (Args() with { LrSchedulerType = SchedulerType.CosineWithRestarts, EvalStrategy = IntervalStrategy.Epoch }).ToJson();
        Assert.Contains("\n  \"per_device_train_batch_size\": 8,\n", json);
        Assert.Contains("\n  \"lr_scheduler_type\": \"cosine_with_restarts\",\n", json);
        Assert.Contains("\n  \"eval_strategy\": \"epoch\",\n", json);
        Assert.Contains("\n  \"save_strategy\": \"steps\",\n", json);
        Assert.Contains("\n  \"learning_rate\": 5e-05,\n", json);
        Assert.Contains("\n  \"adam_epsilon\": 1e-08,\n", json);
        Assert.Contains("\n  \"num_train_epochs\": 3.0,\n", json);
        Assert.Contains("\n  \"logging_steps\": 500,\n", json);
        Assert.Contains("\n  \"eval_steps\": null,\n", json);
        Assert.Contains("\n  \"lr_scheduler_kwargs\": {},\n", json);
        Assert.Contains("\n  \"report_to\": [\n    \"none\"\n  ],\n", json);
        Assert.StartsWith("{\n  \"adam_beta1\": 0.9,\n", json);
        Assert.EndsWith("}\n", json);
        Assert.Contains("\"linear\"", Args().ToJson());

        // Keys sorted as Python's sort_keys does.
        var keys = System.Text.Json.JsonDocument.Parse(json).RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(keys.OrderBy(k => k, StringComparer.Ordinal), keys);
    }

    [Fact]
    public void Json_round_trips()
    {
        var a = Args() with
        {
            NumTrainEpochs = 2.5, LearningRate = 2e-5, WeightDecay = 0.01, WarmupRatio = 0.06, EvalStrategy = IntervalStrategy.Steps,
            EvalSteps = 0.25, SaveSteps = 0.5, SaveTotalLimit = 2, LoadBestModelAtEnd = true, MetricForBestModel = "f1",
            GreaterIsBetter = true, LrSchedulerType = SchedulerType.Polynomial,
            LrSchedulerKwargs = new Dictionary<string, double> { ["power"] = 2.0, ["lr_end"] = 1e-9 },
            LabelNames = ["labels"], DataSeed = 7, Bf16 = true, RunName = "run \"1\"", GroupByLength = true,
        };
        var back = TrainingArguments.FromJson(a.ToJson(), "training_args.json");
        Assert.Equal(a, back);
        Assert.Equal(a.ToJson(), back.ToJson());
        Assert.Equal(2.0, back.LrSchedulerKwargs["power"]);
        Assert.Equal(0.25, back.EvalSteps);
        Assert.Equal(["labels"], back.LabelNames!);
        Assert.NotEqual(a, a with { Seed = 1 });
        Assert.NotEqual(a, a with { LabelNames = ["label"] });
    }

    [Fact]
    public void FromJson_ignores_unknown_keys_and_keeps_defaults()
    {
        var a = TrainingArguments.FromJson("""
            {"output_dir": "x", "push_to_hub": false, "hub_token": "<HUB_TOKEN>", "evaluation_strategy": "epoch",
             "learning_rate": 3e-5, "max_steps": 100.0}
            """, "t.json");
        Assert.Equal("x", a.OutputDir);
        Assert.Equal(IntervalStrategy.Epoch, a.EvalStrategy); // HF 4.26's name
        Assert.Equal(3e-5, a.LearningRate);
        Assert.Equal(100, a.MaxSteps);
        Assert.Equal(8, a.PerDeviceTrainBatchSize);
    }

    [Theory]
    [InlineData("""{"output_dir": "x", "per_device_train_batch_size": "8"}""", "per_device_train_batch_size", "an integer")]
    [InlineData("""{"output_dir": "x", "per_device_train_batch_size": 8.5}""", "per_device_train_batch_size", "an integer")]
    [InlineData("""{"output_dir": "x", "lr_scheduler_type": "cosine_restarts"}""", "lr_scheduler_type", "cosine_with_restarts")]
    [InlineData("""{"output_dir": "x", "fp16": 1}""", "fp16", "true or false")]
    [InlineData("""{"output_dir": "x", "learning_rate": null}""", "learning_rate", "a number")]
    [InlineData("""{"output_dir": 3}""", "output_dir", "a string")]
    [InlineData("""{"seed": 3}""", "output_dir", "missing")]
    [InlineData("""{"output_dir": "x", "report_to": [1]}""", "report_to", "a list of strings")]
    public void FromJson_wrong_types_name_the_key(string json, string key, string fragment)
    {
        var e = Assert.Throws<CheckpointException>(() => TrainingArguments.FromJson(json, "bad.json"));
        Assert.Equal(key, e.Key);
        Assert.Contains(key, e.Message);
        Assert.Contains(fragment, e.Message);
        Assert.Contains("bad.json", e.Message);
    }
}
