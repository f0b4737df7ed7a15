using System.Text.Json;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Tests.Training;

/// <summary>checkpoint-N folders: contents, atomic writes, rotation, best model, resume.</summary>
public class TrainerCheckpointTests
{
    [Fact]
    public void Two_Epochs_Straight_Equal_One_Epoch_Then_Resume_Then_One_Epoch_Bit_For_Bit()
    {
        using var straightDir = new TempFolder();
        using var resumedDir = new TempFolder();
        var train = TinyTraining.MarkerTask(80, seed: 5);
        // Dropout on and weight decay on: the RNG state and the optimizer moments must both be restored exactly.
        TrainingArguments Args(string dir) => TinyTraining.Args(dir) with
        {
            NumTrainEpochs = 2, SaveStrategy = SaveStrategy.Epoch, WeightDecay = 0.01, WarmupRatio = 0.2,
        };

        using var straightModel = TinyTraining.Model(seed: 2, dropout: 0.1);
        var straight = new Trainer(straightModel, Args(straightDir.Path), train);
        straight.Train();

        using (var firstHalf = TinyTraining.Model(seed: 2, dropout: 0.1))
            new Trainer(firstHalf, Args(resumedDir.Path), train, callbacks: [new StopAfterEpoch(1)]).Train();
        var checkpoint = Path.Combine(resumedDir.Path, "checkpoint-5");
        Assert.True(Directory.Exists(checkpoint), "the first epoch (5 steps) was saved");
        Assert.False(Directory.Exists(Path.Combine(resumedDir.Path, "checkpoint-10")));

        using var resumedModel = TinyTraining.Model(seed: 99, dropout: 0.1); // other weights: they must come from the checkpoint
        var resumed = new Trainer(resumedModel, Args(resumedDir.Path), train);
        var result = resumed.Train(resumeFromCheckpoint: checkpoint);

        Assert.Equal(10, result.GlobalStep);
        var expected = TinyTraining.Weights(straightModel);
        foreach (var (name, values) in TinyTraining.Weights(resumedModel))
            Assert.True(values.SequenceEqual(expected[name]), $"{name} differs after resuming");
        // The history continues: the resumed run's entries for steps 6..10 equal the straight run's.
        var straightLogs = straight.State.LogHistory.Where(e => e.ContainsKey("loss")).ToList();
        var resumedLogs = resumed.State.LogHistory.Where(e => e.ContainsKey("loss")).ToList();
        Assert.Equal(10, resumedLogs.Count);
        for (int i = 0; i < 10; i++) Assert.Equal(straightLogs[i], resumedLogs[i]);
        Assert.Equal(straight.State.TotalFlos, resumed.State.TotalFlos);
    }

    [Fact]
    public void Resume_True_Continues_From_The_Last_Checkpoint_In_The_Middle_Of_An_Epoch()
    {
        using var straightDir = new TempFolder();
        using var resumedDir = new TempFolder();
        var train = TinyTraining.MarkerTask(80, seed: 6);
        TrainingArguments Args(string dir) => TinyTraining.Args(dir) with { NumTrainEpochs = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 3 };

        using var straightModel = TinyTraining.Model(seed: 2, dropout: 0.1);
        new Trainer(straightModel, Args(straightDir.Path), train).Train();

        // The first run "crashes" after step 7 (checkpoints 3 and 6 written; 7 is not a multiple of 3).
        using (var part = TinyTraining.Model(seed: 2, dropout: 0.1))
            new Trainer(part, Args(resumedDir.Path), train, callbacks: [new StepHook((state, control) => control.ShouldTrainingStop = state.GlobalStep == 7)]).Train();
        Assert.Equal(["checkpoint-3", "checkpoint-6"], Directory.GetDirectories(resumedDir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var resumedModel = TinyTraining.Model(seed: 3, dropout: 0.1);
        var resumed = new Trainer(resumedModel, Args(resumedDir.Path), train);
        Assert.Equal(10, resumed.Train(resumeFromCheckpoint: true).GlobalStep); // from checkpoint-6: epoch 1, 1 of its 5 steps done

        var expected = TinyTraining.Weights(straightModel);
        foreach (var (name, values) in TinyTraining.Weights(resumedModel))
            Assert.True(values.SequenceEqual(expected[name]), $"{name} differs after resuming at step 6 (epoch 1.2)");
    }

    [Fact]
    public void A_Checkpoint_Holds_Model_Tokenizer_Optimizer_Scheduler_Rng_State_And_Arguments_And_Loads_As_A_Model()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 4, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2 };
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(64, seed: 1));
        trainer.Train();

        Assert.Equal(["checkpoint-2", "checkpoint-4"], Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order());
        var checkpoint = Path.Combine(folder.Path, "checkpoint-4");
        Assert.Equal(["config.json", "model.safetensors", "optimizer.safetensors", "rng_state.safetensors", "scheduler.json",
                      "trainer_state.json", "training_args.json"],
                     Directory.GetFiles(checkpoint).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var state = TrainerState.LoadFromJson(Path.Combine(checkpoint, "trainer_state.json"));
        Assert.Equal(4, state.GlobalStep);
        Assert.Equal(4, state.MaxSteps);
        Assert.Equal(4, state.LogHistory.Count(e => e.ContainsKey("loss")));
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json"))))
        {
            // HF's field names (what transformers' TrainerState.load_from_json reads).
            foreach (var key in new[] { "best_metric", "best_model_checkpoint", "epoch", "eval_steps", "global_step", "is_hyper_param_search",
                                        "is_local_process_zero", "is_world_process_zero", "log_history", "logging_steps", "max_steps",
                                        "num_train_epochs", "save_steps", "total_flos", "train_batch_size", "trial_name", "trial_params" })
                Assert.True(json.RootElement.TryGetProperty(key, out _), $"trainer_state.json lacks {key}");
            Assert.Equal(JsonValueKind.Number, json.RootElement.GetProperty("log_history")[0].GetProperty("step").ValueKind);
        }
        Assert.Equal(args, TrainingArguments.FromFile(Path.Combine(checkpoint, "training_args.json")));

        using var reloaded = AutoModelForSequenceClassification.FromPretrained(checkpoint);
        var weights = TinyTraining.Weights(model);
        foreach (var (name, values) in TinyTraining.Weights(reloaded)) Assert.True(values.SequenceEqual(weights[name]), name);
        Assert.Empty(Directory.GetDirectories(folder.Path, ".*"));
    }

    [Fact]
    public void SaveTotalLimit_Keeps_The_Newest_And_Never_Deletes_The_Best_Which_LoadBestModelAtEnd_Restores()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        double[] scores = [0.5, 0.9, 0.6, 0.7, 0.65]; // the best is the second evaluation, at step 4
        int evaluation = 0;
        var weightsAt = new Dictionary<int, Dictionary<string, float[]>>();
        var args = TinyTraining.Args(folder.Path) with
        {
            MaxSteps = 10, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2,
            SaveTotalLimit = 2, LoadBestModelAtEnd = true, MetricForBestModel = "score",
        };
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(64, seed: 1), TinyTraining.MarkerTask(16, seed: 2),
                                  computeMetrics: _ => new Dictionary<string, double> { ["score"] = scores[evaluation++] },
                                  callbacks: [new SaveHook(state => weightsAt[state.GlobalStep] = TinyTraining.Weights(model))]);
        trainer.Train();

        Assert.Equal(0.9, trainer.State.BestMetric);
        Assert.Equal(4, trainer.State.BestGlobalStep);
        Assert.Equal(Path.GetFullPath(Path.Combine(folder.Path, "checkpoint-4")), trainer.State.BestModelCheckpoint);
        Assert.Equal(["checkpoint-10", "checkpoint-4"], Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var (name, values) in TinyTraining.Weights(model))
            Assert.True(values.SequenceEqual(weightsAt[4][name]), $"{name}: the model at the end is not the best checkpoint's");
    }

    [Fact]
    public void SaveStrategy_Best_Saves_Only_On_A_New_Best_And_GreaterIsBetter_False_Minimises()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        double[] scores = [0.5, 0.7, 0.4, 0.45, 0.3];
        int evaluation = 0;
        var args = TinyTraining.Args(folder.Path) with
        {
            MaxSteps = 5, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 1, SaveStrategy = SaveStrategy.Best,
            MetricForBestModel = "eval_score", GreaterIsBetter = false,
        };
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(64, seed: 1), TinyTraining.MarkerTask(16, seed: 2),
                                  computeMetrics: _ => new Dictionary<string, double> { ["score"] = scores[evaluation++] });
        trainer.Train();
        Assert.Equal(["checkpoint-1", "checkpoint-3", "checkpoint-5"], Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(0.3, trainer.State.BestMetric);
    }

    [Fact]
    public void A_NaN_Loss_Stops_Training_Naming_The_Step_And_Keeps_The_Last_Good_Checkpoint()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 10, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2 };
        var poison = new StepHook(state =>
        {
            if (state.GlobalStep != 3) return;
            using var noGrad = no_grad();
            model.state_dict()["classifier.weight"].fill_(float.NaN); // the next forward's loss is NaN
        });
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(64, seed: 1), callbacks: [poison]);

        var error = Assert.Throws<TrainingException>(() => trainer.Train());

        Assert.Equal(4, error.Step);
        Assert.Contains("step 4", error.Message);
        Assert.Contains("NaN", error.Message);
        Assert.Contains("checkpoint-2", error.Message);
        Assert.Equal(["checkpoint-2"], Directory.GetDirectories(folder.Path).Select(Path.GetFileName));
        Assert.Equal(3, trainer.State.GlobalStep);
    }

    [Fact]
    public void Resuming_Reports_Missing_Or_Foreign_Checkpoints_Clearly()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var trainer = new Trainer(model, TinyTraining.Args(folder.Path), TinyTraining.MarkerTask(16, seed: 1));

        var none = Assert.Throws<ArgumentException>(() => trainer.Train(resumeFromCheckpoint: true));
        Assert.Contains($"No valid checkpoint found in output directory ({folder.Path})", none.Message);

        var missing = Assert.Throws<CheckpointException>(() => trainer.Train(resumeFromCheckpoint: folder.File("checkpoint-9")));
        Assert.Contains("checkpoint-9", missing.Message);

        // A Python checkpoint: model files fine, optimizer.pt is a pickle and is refused, not executed.
        var python = Path.Combine(folder.Path, "checkpoint-3");
        new Trainer(model, TinyTraining.Args(folder.Path) with { MaxSteps = 1 }, TinyTraining.MarkerTask(16, seed: 1)).SaveModel(python);
        new TrainerState { GlobalStep = 3, MaxSteps = 3 }.SaveToJson(Path.Combine(python, "trainer_state.json"));
        folder.WriteBytes("checkpoint-3/optimizer.pt", [0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]);
        var pickle = Assert.Throws<CheckpointException>(() => trainer.Train(resumeFromCheckpoint: true));
        Assert.Contains("optimizer.pt", pickle.Message);
        Assert.Contains("pickle", pickle.Message);
    }

    // ---- round two: finished runs, lineage, state files ----------------------------------------------------------------

    static List<string> Folders(string dir) => Directory.GetDirectories(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()!;

    [Fact]
    public void A_Finished_Run_Resumed_Again_Stays_Finished()
    {
        using var folder = new TempFolder();
        // 32 examples in batches of 16: 2 steps an epoch, so max_steps 3 ends mid-epoch.
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 3, SaveStrategy = SaveStrategy.Steps, SaveSteps = 1 };
        using (var model = TinyTraining.Model()) new Trainer(model, args, TinyTraining.MarkerTask(32, seed: 1)).Train();
        var before = File.ReadAllBytes(Path.Combine(folder.Path, "checkpoint-3", "model.safetensors"));
        for (int again = 0; again < 2; again++)
        {
            using var model = TinyTraining.Model(seed: 5);
            var trainer = new Trainer(model, args, TinyTraining.MarkerTask(32, seed: 1));
            TrainOutput result = default!;
            var log = Hub.HubTestSettings.CaptureLog(() => result = trainer.Train(resumeFromCheckpoint: true));
            Assert.Equal(3, result.GlobalStep);
            Assert.Contains("training is already finished, so no step is trained", log);
            // The model is the finished run's (loaded from its checkpoint), and nothing new was written.
            Assert.Equal(TinyTraining.Weights(model)["classifier.weight"],
                         TinyTraining.Weights(AutoModelForSequenceClassification.FromPretrained(Path.Combine(folder.Path, "checkpoint-3")))["classifier.weight"]);
        }
        Assert.Equal(["checkpoint-1", "checkpoint-2", "checkpoint-3"], Folders(folder.Path));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(folder.Path, "checkpoint-3", "model.safetensors")));
    }

    [Fact]
    public void Rotation_Deletes_Only_This_Runs_Checkpoints_And_Keeps_Its_Last()
    {
        using var folder = new TempFolder();
        // A stale checkpoint of an earlier, longer run (what --overwrite_output_dir leaves in place).
        Directory.CreateDirectory(Path.Combine(folder.Path, "checkpoint-7"));
        File.WriteAllText(Path.Combine(folder.Path, "checkpoint-7", "marker"), "stale");
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 3, SaveStrategy = SaveStrategy.Steps, SaveSteps = 1, SaveTotalLimit = 1 };
        using var model = TinyTraining.Model();
        var log = Hub.HubTestSettings.CaptureLog(() => new Trainer(model, args, TinyTraining.MarkerTask(32, seed: 1)).Train());
        Assert.Equal(["checkpoint-3", "checkpoint-7"], Folders(folder.Path));
        Assert.Contains("checkpoint-7 is not a checkpoint of this run", log);

        // Resumed from its own checkpoint, the run's older checkpoints are its lineage and are rotated as before.
        var longer = args with { MaxSteps = 5 };
        using var again = TinyTraining.Model();
        new Trainer(again, longer, TinyTraining.MarkerTask(32, seed: 1)).Train(Path.Combine(folder.Path, "checkpoint-3"));
        Assert.Equal(["checkpoint-5", "checkpoint-7"], Folders(folder.Path));
    }

    [Fact]
    public void Resuming_Another_Folders_Checkpoint_With_LoadBestModelAtEnd_And_Limit_1_Keeps_A_Checkpoint()
    {
        using var first = new TempFolder();
        using var second = new TempFolder();
        double[] scores = [0.9, 0.5, 0.4, 0.3, 0.2]; // the best stays the first run's step 1
        int evaluation = 0;
        TrainingArguments Args(string dir, int steps) => TinyTraining.Args(dir) with
        {
            MaxSteps = steps, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 1, SaveStrategy = SaveStrategy.Steps, SaveSteps = 1,
            SaveTotalLimit = 1, LoadBestModelAtEnd = true, MetricForBestModel = "score",
        };
        Func<EvalPrediction, IReadOnlyDictionary<string, double>> metrics = _ => new Dictionary<string, double> { ["score"] = scores[evaluation++] };
        using (var model = TinyTraining.Model())
            new Trainer(model, Args(first.Path, 2), TinyTraining.MarkerTask(64, seed: 1), TinyTraining.MarkerTask(16, seed: 2), computeMetrics: metrics).Train();
        Assert.Equal(["checkpoint-1"], Folders(first.Path));

        using var resumed = TinyTraining.Model();
        var trainer = new Trainer(resumed, Args(second.Path, 4), TinyTraining.MarkerTask(64, seed: 1), TinyTraining.MarkerTask(16, seed: 2), computeMetrics: metrics);
        trainer.Train(Path.Combine(first.Path, "checkpoint-1"));
        Assert.Contains("checkpoint-4", Folders(second.Path)); // used to end with no checkpoint at all
        Assert.Equal(["checkpoint-1"], Folders(first.Path));   // the other folder is never touched
    }

    [Theory]
    [InlineData("global_step", "-2", "field 'global_step': expected a non-negative integer, got integer -2")]
    [InlineData("epoch", "-1.5", "field 'epoch': expected a finite number >= 0, got number -1.5")]
    [InlineData("train_batch_size", "0", "field 'train_batch_size': expected an integer >= 1, got integer 0")]
    [InlineData("best_global_step", "9", "field 'best_global_step': 9 is after global_step 2")]
    [InlineData("total_flos", "-1", "field 'total_flos': expected a finite number >= 0, got integer -1")]
    public void Every_Field_Of_A_Resumed_Trainer_State_Is_Checked(string field, string value, string message)
    {
        using var folder = new TempFolder();
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 2, SaveStrategy = SaveStrategy.Steps, SaveSteps = 2 };
        using (var model = TinyTraining.Model()) new Trainer(model, args, TinyTraining.MarkerTask(32, seed: 1)).Train();
        var path = Path.Combine(folder.Path, "checkpoint-2", "trainer_state.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        json[field] = System.Text.Json.Nodes.JsonNode.Parse(value);
        File.WriteAllText(path, json.ToJsonString());
        using var again = TinyTraining.Model();
        var e = Assert.Throws<CheckpointException>(() => new Trainer(again, args with { MaxSteps = 6 }, TinyTraining.MarkerTask(32, seed: 1)).Train(resumeFromCheckpoint: true));
        Assert.Equal($"{path}: {message}", e.Message);
        Assert.Equal(["checkpoint-2"], Folders(folder.Path));
    }

    sealed class SaveHook(Action<TrainerState> action) : TrainerCallback
    {
        public override void OnSave(TrainingArguments args, TrainerState state, TrainerControl control) => action(state);
    }

    sealed class StepHook(Action<TrainerState, TrainerControl> action) : TrainerCallback
    {
        public StepHook(Action<TrainerState> action) : this((state, _) => action(state)) { }
        public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control) => action(state, control);
    }
}
