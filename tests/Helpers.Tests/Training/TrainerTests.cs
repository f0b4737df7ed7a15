using FineTuning.Evaluation;
using FineTuning.Training;
using static TorchSharp.torch;

namespace FineTuning.Tests.Training;

/// <summary>The Trainer on a tiny model and a learnable synthetic task (CPU, seconds).</summary>
public class TrainerTests
{
    static IReadOnlyDictionary<string, double> Accuracy(EvalPrediction p) =>
        new Dictionary<string, double> { ["accuracy"] = Metrics.Accuracy(p.ArgMax(), p.Labels()) };

    [Fact]
    public void Trains_A_Tiny_Model_To_High_Accuracy_On_A_Learnable_Task()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model(seed: 1);
        var args = TinyTraining.Args(folder.Path) with { NumTrainEpochs = 12, EvalStrategy = IntervalStrategy.Epoch, LoggingSteps = 10, WarmupRatio = 0.1 };
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(320, seed: 1), TinyTraining.MarkerTask(100, seed: 2),
                                  computeMetrics: Accuracy);

        var before = trainer.Evaluate()["eval_accuracy"];
        var result = trainer.Train();
        var after = trainer.Evaluate();

        Assert.InRange(before, 0.3, 0.7); // chance level before training
        Assert.True(after["eval_accuracy"] >= 0.95, $"eval_accuracy {after["eval_accuracy"]} after training (before: {before})");
        var losses = TinyTraining.Losses(trainer.State);
        Assert.True(losses[^1] < 0.5 * losses[0], $"training loss {losses[0]} → {losses[^1]}");
        Assert.Equal(12 * 20, result.GlobalStep);
        Assert.Equal(12.0, trainer.State.Epoch);
        // One evaluation per epoch went into the log history, each with the epoch it belongs to.
        var evals = trainer.State.LogHistory.Where(e => e.ContainsKey("eval_accuracy")).ToList();
        // 12 during training + the one after; Train() starts a fresh state, so the one before is not in it (as in HF).
        Assert.Equal(12 + 1, evals.Count);
        Assert.Equal(Enumerable.Range(1, 12).Append(12).Select(e => (double)e), evals.Select(e => e["epoch"]));
    }

    [Fact]
    public void The_Same_Seed_Gives_The_Identical_Loss_Curve_And_A_Different_Seed_Does_Not()
    {
        double[] Run(int seed, out Dictionary<string, float[]> weights)
        {
            using var folder = new TempFolder();
            using var model = TinyTraining.Model(seed: 3, dropout: 0.1); // dropout on: the RNG matters
            var args = TinyTraining.Args(folder.Path) with { NumTrainEpochs = 2, Seed = seed };
            var trainer = new Trainer(model, args, TinyTraining.MarkerTask(96, seed: 5));
            trainer.Train();
            weights = TinyTraining.Weights(model);
            return trainer.State.LogHistory.Where(e => e.ContainsKey("grad_norm")).Select(e => e["grad_norm"]).ToArray();
        }

        var first = Run(42, out var w1);
        var second = Run(42, out var w2);
        var other = Run(7, out _);

        Assert.Equal(12, first.Length);
        Assert.Equal(first, second); // bit-identical grad norms at every step
        foreach (var (name, values) in w1) Assert.True(values.SequenceEqual(w2[name]), $"{name} differs between identical runs");
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Logs_Mean_Loss_Grad_Norm_And_Learning_Rate_Every_LoggingSteps_Then_A_Summary()
    {
        (Trainer Trainer, TrainOutput Result) Run(TrainingArguments args)
        {
            var model = TinyTraining.Model();
            var trainer = new Trainer(model, args, TinyTraining.MarkerTask(64, seed: 1));
            return (trainer, trainer.Train());
        }
        using var folder = new TempFolder();
        var args = TinyTraining.Args(folder.Path) with { MaxSteps = 8, WarmupSteps = 2 };
        var everyStep = TinyTraining.Losses(Run(args with { LoggingSteps = 1 }).Trainer.State); // rounded to 4 decimals
        var (trainer, result) = Run(args with { LoggingSteps = 4, LoggingFirstStep = true });

        var logs = trainer.State.LogHistory;
        Assert.Equal([1.0, 4, 8, 8], logs.Select(e => e["step"]));
        Assert.Equal(["epoch", "grad_norm", "learning_rate", "loss", "step"], logs[0].Keys.Order(StringComparer.Ordinal));
        // The logged loss is the mean of the steps since the previous log (HF rounds it to 4 decimals).
        Assert.Equal(everyStep[0], logs[0]["loss"]);
        Assert.Equal(everyStep.Skip(1).Take(3).Average(), logs[1]["loss"], 1e-4);
        Assert.Equal(everyStep.Skip(4).Average(), logs[2]["loss"], 1e-4);
        Assert.Equal(Math.Round(logs[1]["loss"], 4), logs[1]["loss"]);
        // Linear schedule, 2 warmup steps over 8: the learning rate logged after step k is lr × λ(k).
        Assert.Equal(1e-3 * 1 / 2.0, logs[0]["learning_rate"], 12);
        Assert.Equal(1e-3 * 4 / 6.0, logs[1]["learning_rate"], 12);
        Assert.Equal(0.0, logs[2]["learning_rate"], 12);
        // The summary: HF's speed metrics, total_flos and the mean loss over all steps.
        var summary = logs[3];
        Assert.Equal(["epoch", "step", "total_flos", "train_loss", "train_runtime", "train_samples_per_second", "train_steps_per_second"],
                     summary.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(everyStep.Average(), result.TrainingLoss, 1e-4);
        Assert.Equal(result.TrainingLoss, result.Metrics["train_loss"]);
        Assert.Equal(8, result.GlobalStep);
        Assert.Equal(2.0, trainer.State.Epoch); // 64 examples / 16 = 4 steps per epoch
        Assert.Equal(2.0, result.Metrics["epoch"]);
        // HF's flop estimate: 6 × tokens × non-embedding parameters, summed over the batches.
        Assert.True(result.Metrics["total_flos"] > 0);
        Assert.Empty(Directory.GetDirectories(folder.Path)); // SaveStrategy.No
    }

    [Fact]
    public void Gradient_Accumulation_Of_Two_Half_Batches_Matches_One_Full_Batch()
    {
        Dictionary<string, float[]> Run(int batch, int accumulate)
        {
            using var folder = new TempFolder();
            using var model = TinyTraining.Model(seed: 4);
            var args = TinyTraining.Args(folder.Path) with
            {
                PerDeviceTrainBatchSize = batch, GradientAccumulationSteps = accumulate, NumTrainEpochs = 1, WeightDecay = 0.01,
            };
            var trainer = new Trainer(model, args, TinyTraining.MarkerTask(64, seed: 9));
            var result = trainer.Train();
            Assert.Equal(4, result.GlobalStep); // 64 / 16 optimizer steps either way
            return TinyTraining.Weights(model);
        }

        var full = Run(16, 1);
        var accumulated = Run(8, 2); // the same shuffled order, cut into halves of the same batches
        foreach (var (name, values) in full)
            TensorAssert.Close(values, accumulated[name], name, rtol: 1e-4, atol: 1e-6);
    }

    [Fact]
    public void The_Last_Partial_Accumulation_Of_An_Epoch_Is_Its_Own_Optimizer_Step()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        // 5 batches of 8 with accumulation 2: steps of 2, 2 and 1 batches (HF ≥ 4.46).
        var args = TinyTraining.Args(folder.Path) with { PerDeviceTrainBatchSize = 8, GradientAccumulationSteps = 2, NumTrainEpochs = 2 };
        var substeps = new Recorder();
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(40, seed: 1), callbacks: [substeps]);
        var result = trainer.Train();
        Assert.Equal(6, result.GlobalStep);
        Assert.Equal(4, substeps.Substeps); // one per accumulated batch that was not the last of its step
    }

    [Fact]
    public void Evaluate_Returns_Loss_Metrics_And_Speed_Under_The_Prefix_And_Logs_Them()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var eval = TinyTraining.MarkerTask(40, seed: 2);
        var seen = new Recorder();
        var trainer = new Trainer(model, TinyTraining.Args(folder.Path) with { PerDeviceEvalBatchSize = 16 }, evalDataset: eval,
                                  computeMetrics: Accuracy, callbacks: [seen]);

        var metrics = trainer.Evaluate();

        Assert.Equal(["eval_loss", "eval_accuracy", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second"], metrics.Keys);
        Assert.Equal(3, seen.PredictionSteps); // 16 + 16 + 8
        Assert.Equal(3, seen.BatchCount);
        Assert.Same(metrics, seen.LastEvaluate);
        Assert.Equal(metrics.Count + 1, trainer.State.LogHistory.Single().Count); // + step
        Assert.Equal(0, trainer.State.LogHistory.Single()["step"]);

        // The loss is the mean over examples of the model's cross-entropy, computed in eval mode without dropout.
        var prediction = trainer.Predict(eval);
        using (no_grad())
        {
            var batch = trainer.DataCollator.Collate(Enumerable.Range(0, eval.Count).Select(i => eval[i]).ToArray());
            model.eval();
            var output = model.forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds, batch.Labels);
            Assert.Equal(output.Loss!.item<float>(), metrics["eval_loss"], 5);
            var logits = output.Logits.data<float>().ToArray();
            TensorAssert.Close(logits, prediction.Predictions.Cast<float>().ToArray(), "Predict logits");
        }
        Assert.Equal(eval.Column<int>("label").Select(l => (double)l), prediction.LabelIds!);
        Assert.Equal(["test_loss", "test_accuracy", "test_runtime", "test_samples_per_second", "test_steps_per_second"], prediction.Metrics.Keys);
        Assert.Equal(Metrics.Accuracy(prediction.ArgMax(), eval.Column<int>("label").ToArray()), prediction.Metrics["test_accuracy"]);
        Assert.Single(trainer.State.LogHistory); // Predict does not log
    }

    [Fact]
    public void Predict_Without_Labels_Returns_Logits_Only()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var test = TinyTraining.MarkerTask(10, seed: 3).RemoveColumns("label");
        var trainer = new Trainer(model, TinyTraining.Args(folder.Path), computeMetrics: Accuracy);
        var prediction = trainer.Predict(test);
        Assert.Equal(10, prediction.Predictions.GetLength(0));
        Assert.Equal(2, prediction.Predictions.GetLength(1));
        Assert.Null(prediction.LabelIds);
        Assert.DoesNotContain("test_loss", prediction.Metrics.Keys);
        Assert.DoesNotContain("test_accuracy", prediction.Metrics.Keys);
    }

    [Fact]
    public void Unused_Columns_Are_Removed_Before_Collating()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var data = TinyTraining.MarkerTask(16, seed: 3);
        var withText = data.Map(row => new Dictionary<string, object?> { ["sentence1"] = "text", ["idx"] = 3 });
        var trainer = new Trainer(model, TinyTraining.Args(folder.Path) with { MaxSteps = 1 }, withText);
        Assert.Equal(1, trainer.Train().GlobalStep);
    }

    [Fact]
    public void The_Ignored_Columns_Are_Reported_Once_Per_Run_Not_At_Every_Evaluation()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var data = TinyTraining.MarkerTask(32, seed: 3).Map(row => new Dictionary<string, object?> { ["sentence1"] = "text", ["idx"] = 3 });
        var log = new StringWriter();
        var (writer, verbosity) = (Logging.Writer, Logging.Verbosity);
        (Logging.Writer, Logging.Verbosity) = (log, LogLevel.Info);
        try
        {
            var trainer = new Trainer(model, TinyTraining.Args(folder.Path) with { NumTrainEpochs = 3, EvalStrategy = IntervalStrategy.Epoch },
                data, data.Select(Enumerable.Range(0, 8)));
            trainer.Train();   // the training set, then the evaluation set 3 times: the same columns
            trainer.Evaluate();
            trainer.Predict(data.Select(Enumerable.Range(0, 4)).RemoveColumns("idx"));   // other columns: said again
        }
        finally
        {
            (Logging.Writer, Logging.Verbosity) = (writer, verbosity);
        }
        var lines = log.ToString().Split('\n').Where(l => l.StartsWith("The following columns", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Contains("in the training set don't have a corresponding argument in `BertForSequenceClassification.forward` and have been "
            + "ignored: sentence1, idx.", lines[0]);
        Assert.Contains("in the test set", lines[1]);
        Assert.Contains("ignored: sentence1.", lines[1]);
    }

    [Fact]
    public void Bad_Inputs_Get_Clear_Errors()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var args = TinyTraining.Args(folder.Path);
        var data = TinyTraining.MarkerTask(16, seed: 1);

        var empty = Assert.Throws<InvalidOperationException>(() => new Trainer(model, args, data.Select([])).Train());
        Assert.Contains("training data set is empty", empty.Message);

        var batch = Assert.Throws<ArgumentException>(() => new Trainer(model, args with { PerDeviceTrainBatchSize = 0 }, data));
        Assert.Equal("PerDeviceTrainBatchSize", batch.ParamName);
        Assert.Contains("got 0", batch.Message);

        var noEval = Assert.Throws<ArgumentException>(() => new Trainer(model, args with { EvalStrategy = IntervalStrategy.Epoch }, data));
        Assert.Contains("EvalStrategy (eval_strategy) to 'epoch' but you didn't pass an evalDataset", noEval.Message);

        var noTrain = Assert.Throws<InvalidOperationException>(() => new Trainer(model, args).Train());
        Assert.Contains("needs a trainDataset", noTrain.Message);

        var noLabels = Assert.Throws<InvalidOperationException>(() => new Trainer(model, args, data.RemoveColumns("label")).Train());
        Assert.Contains("no 'labels'", noLabels.Message);

        var tooFew = Assert.Throws<InvalidOperationException>(() => new Trainer(model, args with { DataloaderDropLast = true, PerDeviceTrainBatchSize = 32 }, data).Train());
        Assert.Contains("fewer than one batch", tooFew.Message);

        using var linear = nn.Linear(2, 2);
        var notAModel = Assert.Throws<ArgumentException>(() => new Trainer(linear, args, data));
        Assert.Contains("ITrainableModel", notAModel.Message);

        var throwing = new Trainer(model, args, data, data, computeMetrics: _ => throw new DivideByZeroException("no positives"));
        var metricsError = Assert.Throws<TrainingException>(() => throwing.Evaluate());
        Assert.Contains("computeMetrics threw DivideByZeroException", metricsError.Message);
        Assert.Contains("no positives", metricsError.Message);
        Assert.IsType<DivideByZeroException>(metricsError.InnerException);

        var unknownMetric = new Trainer(model, args with
        {
            MaxSteps = 1, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 1, MetricForBestModel = "f1", SaveStrategy = SaveStrategy.Best,
        }, data, data, computeMetrics: Accuracy);
        var metricError = Assert.Throws<TrainingException>(() => unknownMetric.Train());
        Assert.Contains("'eval_f1', which is not found in the evaluation metrics. The available evaluation metrics are: eval_loss, eval_accuracy", metricError.Message);
    }

    [Fact]
    public void Progress_Displays_Follow_A_Real_Run_On_The_Console_And_In_A_Notebook_Table()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var args = TinyTraining.Args(folder.Path) with { NumTrainEpochs = 2, EvalStrategy = IntervalStrategy.Epoch, LoggingSteps = 2, DisableTqdm = false };
        var console = new StringWriter();
        string? html = null;
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(64, seed: 1), TinyTraining.MarkerTask(32, seed: 2),
                                  computeMetrics: Accuracy,
                                  callbacks: [new ProgressCallback(console, interactive: false), new NotebookProgressCallback(h => html = h)]);
        Assert.Equal(1, trainer.Callbacks.Count(c => c is ProgressCallback)); // no second, default one
        trainer.Train();

        var text = console.ToString();
        Assert.Contains("8/8", text);
        Assert.Contains("{'loss': ", text);
        Assert.Contains("'eval_accuracy': ", text);
        Assert.Contains("'train_runtime': ", text);
        Assert.NotNull(html);
        Assert.Contains("<th>Epoch</th>", html);
        Assert.Contains("<th>Validation Loss</th>", html);
        Assert.Contains("<th>Accuracy</th>", html);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(html!, "<tr>\\s*<td>[12]</td>").Count); // one row per epoch

        var quiet = new Trainer(model, args with { DisableTqdm = true }, TinyTraining.MarkerTask(16, seed: 1), TinyTraining.MarkerTask(8, seed: 2));
        Assert.DoesNotContain(quiet.Callbacks, c => c is ProgressCallback);
        var defaulted = new Trainer(model, args, TinyTraining.MarkerTask(16, seed: 1), TinyTraining.MarkerTask(8, seed: 2));
        Assert.Single(defaulted.Callbacks, c => c is ProgressCallback);
    }

    [Fact]
    public void Early_Stopping_Ends_Training_After_Patience_Evaluations_Without_Improvement_And_Restores_The_Best()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        double[] scores = [0.5, 0.6, 0.55, 0.6, 0.7, 0.8];
        int evaluation = 0;
        var args = TinyTraining.Args(folder.Path) with
        {
            MaxSteps = 20, EvalStrategy = IntervalStrategy.Steps, EvalSteps = 1, SaveStrategy = SaveStrategy.Steps, SaveSteps = 1,
            LoadBestModelAtEnd = true, MetricForBestModel = "score",
        };
        var trainer = new Trainer(model, args, TinyTraining.MarkerTask(64, seed: 1), TinyTraining.MarkerTask(16, seed: 2),
                                  computeMetrics: _ => new Dictionary<string, double> { ["score"] = scores[evaluation++] },
                                  callbacks: [new EarlyStoppingCallback(earlyStoppingPatience: 2)]);
        var result = trainer.Train();

        Assert.Equal(4, result.GlobalStep); // 0.55 and 0.6 at steps 3 and 4 do not beat 0.6 (step 2)
        Assert.Equal(0.6, trainer.State.BestMetric);
        Assert.EndsWith("checkpoint-2", trainer.State.BestModelCheckpoint);
        using var best = TinyTraining.Model(seed: 5);
        TrainerCheckpoint.LoadModelWeights(best, trainer.State.BestModelCheckpoint!);
        var expected = TinyTraining.Weights(best);
        foreach (var (name, values) in TinyTraining.Weights(model)) Assert.True(values.SequenceEqual(expected[name]), name);
    }

    sealed class Recorder : TrainerCallback
    {
        public int Substeps { get; private set; }
        public int PredictionSteps { get; private set; }
        public IReadOnlyDictionary<string, double>? LastEvaluate { get; private set; }

        public override void OnSubstepEnd(TrainingArguments args, TrainerState state, TrainerControl control) => Substeps++;
        public override void OnPredictionStep(TrainingArguments args, TrainerState state, TrainerControl control, int? evalBatchCount = null)
        {
            PredictionSteps++;
            BatchCount = evalBatchCount;
        }

        public int? BatchCount { get; private set; }

        public override void OnEvaluate(TrainingArguments args, TrainerState state, TrainerControl control, IReadOnlyDictionary<string, double> metrics) =>
            LastEvaluate = metrics;
    }
    [Fact]
    public void A_Tokenizer_With_More_Tokens_Than_The_Models_Embeddings_Is_Refused_When_The_Trainer_Is_Built()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model(); // vocab_size 24
        var tokens = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(0, 25).Select(i => $"w{i}"));
        var tokenizer = new FineTuning.Tokenizers.BertTokenizer(FineTuning.Tokenizers.Vocabulary.FromLines(tokens));
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, TinyTraining.Args(folder.Path), TinyTraining.MarkerTask(8, seed: 1),
                                                                   processingClass: tokenizer));
        Assert.StartsWith("The tokenizer has 30 tokens (ids 0..29; its vocab.txt), but the model's word embeddings have 24 rows", e.Message);
        // A vocabulary that fits is fine.
        var fits = new FineTuning.Tokenizers.BertTokenizer(FineTuning.Tokenizers.Vocabulary.FromLines(tokens.Take(24)));
        _ = new Trainer(model, TinyTraining.Args(folder.Path), TinyTraining.MarkerTask(8, seed: 1), processingClass: fits);
    }

    [Fact]
    public void SaveModel_On_A_Full_Disk_Leaves_None_Of_The_Models_Files_And_Says_How_Much_Space_It_Needs()
    {
        using var folder = new TempFolder();
        using var model = TinyTraining.Model();
        var tokens = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(0, 19).Select(i => $"w{i}"));
        var trainer = new Trainer(model, TinyTraining.Args(folder.Path) with { MaxSteps = 1 }, TinyTraining.MarkerTask(8, seed: 1),
                                  processingClass: new FineTuning.Tokenizers.BertTokenizer(FineTuning.Tokenizers.Vocabulary.FromLines(tokens)));
        trainer.Train();
        TrainingException e;
        // The disk fills up at the tokenizer's files: the model's config and weights were already written by then.
        using (new FineTuning.Tests.Reliability.FailingDisk(p => p.Contains("/.saved-model.") && p.Contains("vocab"), afterBytes: 10))
            e = Assert.Throws<TrainingException>(() => trainer.SaveModel());
        Assert.Contains("Could not save the model to", e.Message);
        Assert.Contains("Nothing of it was kept (the model, its tokenizer and training_args.json need about", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path).Select(Path.GetFileName).Where(n => n != ".trainer.lock"));
        // Once there is space, it saves.
        trainer.SaveModel();
        Assert.True(File.Exists(Path.Combine(folder.Path, "vocab.txt")));
        Assert.True(File.Exists(Path.Combine(folder.Path, "model.safetensors")));
        Assert.Empty(Directory.GetDirectories(folder.Path, ".saved-model.*"));
    }

}
