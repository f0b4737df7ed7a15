using System.Diagnostics;
using FineTuning.Amp;
using FineTuning.Data;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Tokenizers;
using DataLoader = FineTuning.Data.DataLoader;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// HF <c>Trainer</c>: assembles a model, <see cref="TrainingArguments"/>, data sets, a collator and metrics, and runs
/// HF's recipe — AdamW in two parameter groups, a schedule stepped once per optimizer step, clipping by the global
/// gradient norm, gradient accumulation with the loss divided by the number of accumulated batches, evaluation and
/// checkpoints on the strategies of the arguments. <see cref="Train(string?)"/> is the loop (one screen); everything around it
/// is a named helper, and behaviour is extended through <see cref="TrainerCallback"/>s, not by editing the loop.
/// </summary>
/// <remarks>
/// What differs from HF on purpose: checkpoints hold optimizer / scheduler / RNG state as safetensors + JSON, never
/// pickle (see <see cref="TrainerCheckpoint"/>); a NaN or infinite training loss stops training with an error naming
/// the step (HF silently skips it with <c>logging_nan_inf_filter</c>); after a resume, <c>train_loss</c> averages the
/// steps of this run only (HF divides this run's loss sum by all steps).
/// </remarks>
public class Trainer
{
    readonly nn.Module module;
    readonly ITrainableModel model;
    readonly List<TrainerCallback> callbacks;
    readonly Func<EvalPrediction, IReadOnlyDictionary<string, double>>? computeMetrics;
    readonly Parameter[] parameters;
    readonly long nonEmbeddingParameters;
    int globalStepLastLogged;
    double lossSinceLastLog;
    readonly HashSet<string> reportedIgnoredColumns = new(StringComparer.Ordinal);   // "columns ignored" said once per set
    double? lastGradNorm; // null without clipping (MaxGradNorm 0); inf / NaN after an fp16 overflow, and logged so
    OutputDirLock? outputDirLock; // held during Train and SaveModel
    // This run's checkpoints in OutputDir, oldest first: those it saved, and when it resumed from a checkpoint of OutputDir,
    // that one and the older ones beside it. Rotation deletes only these: never a stale checkpoint of another run.
    readonly List<string> lineage = [];
    readonly HashSet<string> foreignWarned = new(StringComparer.Ordinal);

    /// <param name="model">A model that is both a <c>torch.nn.Module</c> and an <see cref="ITrainableModel"/>
    /// (e.g. <see cref="Models.Bert.BertForSequenceClassification"/>); moved to <see cref="Device"/> here.</param>
    /// <param name="args">The training arguments; validated here.</param>
    /// <param name="trainDataset">Tokenized training examples (needed by <see cref="Train(string?)"/>).</param>
    /// <param name="evalDataset">Tokenized held-out examples (needed by <see cref="Evaluate"/> and any eval strategy).</param>
    /// <param name="dataCollator">Turns rows into a batch; default: <c>DataCollatorWithPadding(processingClass)</c> when a
    /// tokenizer is given, else padding with id 0.</param>
    /// <param name="processingClass">The tokenizer: saved into every checkpoint and used for the default collator.</param>
    /// <param name="computeMetrics">Metrics from an <see cref="EvalPrediction"/>, e.g. <c>GlueMetric.For("mrpc")</c>.</param>
    /// <param name="callbacks">Extra callbacks, run after the built-in <see cref="DefaultFlowCallback"/>. Unless
    /// <see cref="TrainingArguments.DisableTqdm"/> is set or a progress callback is among them, a console
    /// <see cref="ProgressCallback"/> (to stderr) is added, as HF adds its tqdm bar; in a notebook pass a
    /// <see cref="NotebookProgressCallback"/>.</param>
    public Trainer(nn.Module model, TrainingArguments args, Dataset? trainDataset = null, Dataset? evalDataset = null,
                   DataCollatorWithPadding? dataCollator = null, BertTokenizer? processingClass = null,
                   Func<EvalPrediction, IReadOnlyDictionary<string, double>>? computeMetrics = null,
                   IEnumerable<TrainerCallback>? callbacks = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(args);
        this.module = model;
        this.model = model as ITrainableModel ?? throw new ArgumentException(
            $"{model.GetType().Name} cannot be trained by the Trainer: it must implement ITrainableModel (forward over a batch by name).", nameof(model));
        args.Validate();
        if (args.EvalStrategy != IntervalStrategy.No && evalDataset is null)
            throw new ArgumentException($"You have set EvalStrategy (eval_strategy) to '{args.EvalStrategy.ToPython()}' but you didn't pass an "
                + "evalDataset to the Trainer. Either set EvalStrategy to IntervalStrategy.No or pass an evalDataset.", nameof(evalDataset));
        Args = args;
        TrainDataset = trainDataset;
        EvalDataset = evalDataset;
        ProcessingClass = processingClass;
        DataCollator = dataCollator ?? new DataCollatorWithPadding(processingClass?.PadTokenId ?? 0);
        this.computeMetrics = computeMetrics;
        this.callbacks = [new DefaultFlowCallback(), .. callbacks ?? []];
        // HF adds a tqdm progress bar unless disabled; a notebook passes its NotebookProgressCallback instead.
        if (!args.DisableTqdm && !this.callbacks.Any(c => c is ProgressCallback or NotebookProgressCallback))
            this.callbacks.Insert(1, new ProgressCallback());

        // HF's set_seed(args.seed) in __init__: classifier init (if the caller builds the model later) and dropout.
        torch.manual_seed(args.Seed);
        Device = args.UseCpu || !torch.cuda.is_available() ? CPU : CUDA;
        module.to(Device);
        // Mixed precision (HF's autocast + GradScaler): matmuls in bf16 / fp16, master weights and losses in fp32.
        AmpDType = args.Bf16 ? ScalarType.BFloat16 : args.Fp16 ? ScalarType.Float16 : null;
        if (AmpDType is { } amp) Autocast.CheckSupported(amp, Device, args.Fp16 ? "Fp16 (fp16)" : "Bf16 (bf16)");
        if (processingClass is not null) CheckVocabularyFits(module, processingClass);
        parameters = module.parameters().ToArray();
        nonEmbeddingParameters = CountNonEmbeddingParameters(module);
        CallbackEvent(c => c.OnInitEnd(Args, State, Control));
    }

    /// <summary>
    /// Refuses a tokenizer whose ids go past the model's word embeddings (a vocab.txt with more tokens than
    /// <c>vocab_size</c>): the first forward pass would fail in libtorch with "index out of range in self".
    /// </summary>
    /// <exception cref="ArgumentException">The tokenizer has more tokens than the model's embedding rows.</exception>
    public static void CheckVocabularyFits(nn.Module model, BertTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var embeddings = model.named_modules().FirstOrDefault(m => m.name.EndsWith("word_embeddings", StringComparison.Ordinal) && m.module is Embedding);
        if (embeddings.module is not Embedding e) return;
        long rows = e.weight!.shape[0];
        if (tokenizer.VocabSize <= rows) return;
        throw new ArgumentException(
            $"The tokenizer has {tokenizer.VocabSize:N0} tokens (ids 0..{tokenizer.VocabSize - 1:N0}; its vocab.txt), but the model's "
            + $"word embeddings have {rows:N0} rows (vocab_size {rows:N0} in its config.json): ids from {rows:N0} up cannot be looked up. "
            + "Use the tokenizer that was saved with the model (the same folder or Hub id), or a model whose vocab_size covers the vocabulary.",
            nameof(tokenizer));
    }

    public TrainingArguments Args { get; }
    public nn.Module Model => module;
    public Dataset? TrainDataset { get; }
    public Dataset? EvalDataset { get; }
    public BertTokenizer? ProcessingClass { get; }
    public DataCollatorWithPadding DataCollator { get; }

    /// <summary>CUDA when available and <see cref="TrainingArguments.UseCpu"/> is false; otherwise the CPU.</summary>
    public Device Device { get; }

    /// <summary>The reduced dtype matmuls run in (<see cref="TrainingArguments.Bf16"/> / <see cref="TrainingArguments.Fp16"/>),
    /// or null for fp32 throughout.</summary>
    public ScalarType? AmpDType { get; }

    /// <summary>The fp16 loss scaler of the last <see cref="Train(string?)"/> (null without Fp16, and before).</summary>
    public GradScaler? Scaler { get; private set; }

    /// <summary>Optimizer steps between two garbage collections of the young generations (see OptimizerStep).</summary>
    const int CollectEverySteps = 10;

    /// <summary>Where training stands (replaced at the start of each <see cref="Train(string?)"/>).</summary>
    public TrainerState State { get; private set; } = new();

    /// <summary>The flags callbacks set.</summary>
    public TrainerControl Control { get; } = new();

    /// <summary>The callbacks in calling order, <see cref="DefaultFlowCallback"/> first.</summary>
    public IReadOnlyList<TrainerCallback> Callbacks => callbacks;

    /// <summary>The optimizer of the last <see cref="Train(string?)"/> (null before).</summary>
    public AdamW? Optimizer { get; private set; }

    /// <summary>The learning-rate scheduler of the last <see cref="Train(string?)"/> (null before).</summary>
    public LrScheduler? LrScheduler { get; private set; }

    /// <summary>The loss of the last optimizer step (mean over its accumulated batches), before any logging average:
    /// finetune's report charts every step with it, whatever logging_steps is (NaN before the first step).</summary>
    internal double LastStepLoss { get; private set; } = double.NaN;

    public void AddCallback(TrainerCallback callback) => callbacks.Add(callback ?? throw new ArgumentNullException(nameof(callback)));
    public bool RemoveCallback(TrainerCallback callback) => callbacks.Remove(callback);

    // ---- training ------------------------------------------------------------------------------------------------

    /// <summary>Resumes from the last <c>checkpoint-N</c> in OutputDir when <paramref name="resumeFromCheckpoint"/> is
    /// true (HF's <c>resume_from_checkpoint=True</c>); trains from the start when false.</summary>
    public TrainOutput Train(bool resumeFromCheckpoint)
    {
        if (!resumeFromCheckpoint) return Train(null);
        using var outputLock = LockOutputDir(); // first: a save a crash interrupted is cleaned up before "last" is chosen
        return Train(TrainerCheckpoint.GetLastCheckpoint(Args.OutputDir)
            ?? throw new ArgumentException($"No valid checkpoint found in output directory ({Args.OutputDir})", nameof(resumeFromCheckpoint)));
    }

    /// <summary>
    /// Runs the training loop: <see cref="TrainingArguments.NumTrainEpochs"/> epochs (or
    /// <see cref="TrainingArguments.MaxSteps"/> optimizer steps), logging, evaluating and saving as the arguments say.
    /// With <paramref name="resumeFromCheckpoint"/> (a checkpoint folder) it restores weights, optimizer, schedule,
    /// RNG and state and continues exactly where that checkpoint was written.
    /// </summary>
    /// <exception cref="TrainingException">The loss became NaN or infinite (the message names the step; checkpoints
    /// written before are kept), computeMetrics failed, or a checkpoint could not be written (nothing of it is kept).</exception>
    /// <exception cref="IOException">Another Trainer is training into the same OutputDir (see <c>OutputDir/.trainer.lock</c>),
    /// or OutputDir cannot be created.</exception>
    public TrainOutput Train(string? resumeFromCheckpoint = null)
    {
        using var outputLock = LockOutputDir();                                     // one Trainer per OutputDir
        var train = PrepareDataset(TrainDataset ?? throw new InvalidOperationException("Trainer.Train() needs a trainDataset."), "training set");
        if (train.Count == 0) throw new InvalidOperationException("The training data set is empty (0 examples): nothing to train on.");
        // Before any step: a bad label would otherwise end in libtorch's "Target -1 is out of bounds" (for the eval set,
        // after the whole run).
        CheckLabels(train, "training set");
        if (EvalDataset is not null && Args.EvalStrategy != IntervalStrategy.No) CheckLabels(EvalDataset, "evaluation set");
        var loader = GetTrainDataLoader(train);
        var plan = TrainingPlan.For(Args, loader.Count, train.Count);
        CreateOptimizerAndScheduler(plan.MaxSteps);
        State = NewState(plan);
        lineage.Clear();
        foreignWarned.Clear();
        var (firstEpoch, updatesToSkip) = resumeFromCheckpoint is null ? (0, 0) : Resume(resumeFromCheckpoint, plan);
        if (resumeFromCheckpoint is not null && State.GlobalStep >= plan.MaxSteps)
        {
            // Already done: HF's loop would train the rest of the epoch the checkpoint is in (one more step each time the
            // same command is run again, past max_steps). A finished run resumed stays finished.
            Logging.Warning($"The checkpoint {resumeFromCheckpoint} is at global_step {State.GlobalStep} and this run stops at step {plan.MaxSteps} "
                + "(max_steps / num_train_epochs): training is already finished, so no step is trained. Raise MaxSteps (max_steps) or "
                + "NumTrainEpochs (num_train_epochs) to train further.");
            firstEpoch = plan.NumTrainEpochs;
        }
        int startStep = State.GlobalStep;
        LogTrainingStart(train.Count, plan);

        var clock = Stopwatch.StartNew();
        double totalLoss = 0;
        lossSinceLastLog = 0;
        globalStepLastLogged = State.GlobalStep;
        Control.NewTraining();
        CallbackEvent(c => c.OnTrainBegin(Args, State, Control));
        for (int epoch = firstEpoch; epoch < plan.NumTrainEpochs && !Control.ShouldTrainingStop; epoch++)
        {
            Control.NewEpoch();
            CallbackEvent(c => c.OnEpochBegin(Args, State, Control));
            var batches = loader.BatchIndices(epoch).ToList();                      // this epoch's order (seed + epoch)
            var updates = batches.Chunk(Args.GradientAccumulationSteps).ToList();   // the batches of each optimizer step
            int batchesDone = 0;
            for (int u = 0; u < updates.Count; u++)
            {
                batchesDone += updates[u].Length;
                if (epoch == firstEpoch && u < updatesToSkip) continue;             // resumed: already trained
                if (epoch == firstEpoch && u == updatesToSkip && resumeFromCheckpoint is not null)
                    TrainerCheckpoint.LoadRngState(resumeFromCheckpoint);           // dropout draws continue as saved
                Control.NewStep();
                CallbackEvent(c => c.OnStepBegin(Args, State, Control));
                // 1. forward + backward over the accumulated batches; 2. clip, AdamW step, schedule step, zero grads
                double loss = OptimizerStep(train, updates[u]);
                LastStepLoss = loss;
                totalLoss += loss;
                lossSinceLastLog += loss;
                // 3. bookkeeping, then the callbacks decide what happens at this step
                State.GlobalStep++;
                State.Epoch = epoch + (double)batchesDone / batches.Count;
                CallbackEvent(c => c.OnStepEnd(Args, State, Control));
                MaybeLogSaveEvaluate();
                if (Control.ShouldEpochStop || Control.ShouldTrainingStop) break;
            }
            CallbackEvent(c => c.OnEpochEnd(Args, State, Control));
            MaybeLogSaveEvaluate();
        }
        return FinishTraining(clock.Elapsed.TotalSeconds, totalLoss, State.GlobalStep - startStep, plan);
    }

    /// <summary>One optimizer step over <paramref name="batchIndices"/> (one array per accumulated batch); returns the
    /// step's loss (mean over its batches).</summary>
    double OptimizerStep(Dataset train, int[][] batchIndices)
    {
        module.train();
        double stepLoss = 0;
        for (int i = 0; i < batchIndices.Length; i++)
        {
            using var scope = NewDisposeScope();
            using var batch = Collate(train, batchIndices[i]);
            var output = Forward(batch);
            var loss = output.Loss ?? throw new InvalidOperationException(
                "The model did not return a loss: the training batches have no 'labels' (a 'label' or 'labels' column).");
            // HF: loss / gradient_accumulation_steps, so the accumulated gradient is the mean over the batches.
            var scaled = loss / batchIndices.Length;
            (Scaler is null ? scaled : Scaler.Scale(scaled)).backward(); // fp16: scaled up so small gradients survive
            double value = scaled.item<float>();
            State.TotalFlos += 6.0 * batch.InputIds.numel() * nonEmbeddingParameters;
            if (!double.IsFinite(value)) throw NonFiniteLoss(value);
            stepLoss += value;
            if (i < batchIndices.Length - 1) CallbackEvent(c => c.OnSubstepEnd(Args, State, Control));
        }
        using (var scope = NewDisposeScope())
        {
            Scaler?.Unscale(parameters);                                    // fp16: the true gradients before clipping
            lastGradNorm = Args.MaxGradNorm > 0 ? nn.utils.clip_grad_norm_(parameters, Args.MaxGradNorm) : null;
            bool stepped = Scaler?.Step(Optimizer!) ?? StepOptimizer();     // fp16: skipped when a gradient is inf / NaN
            Scaler?.Update();
            if (stepped && !LrScheduler!.IsMetricDriven) LrScheduler.Step(); // HF: a skipped step leaves the schedule
            // HF's model.zero_grad(): gradients set to none, not zero-filled, so the next backward writes them fresh
            // instead of adding into zeros (saves a fill and an add per weight; bench/NOTES.md).
            module.zero_grad();
        }
        // TorchSharp frees some native objects only in finalizers (the Scalars its operators make from numbers, e.g.
        // alpha = 1 in every a + b: many a step). They barely grow the managed heap, so the GC seldom runs, and resident memory
        // grew ~100 KB a step (bert-tiny). A gen-1 collection every 10 steps (~2 ms) keeps it flat (TrainerMemoryTests).
        if ((State.GlobalStep + 1) % CollectEverySteps == 0) GC.Collect(1);
        return stepLoss;
    }

    bool StepOptimizer()
    {
        Optimizer!.step();
        return true;
    }

    /// <summary>The model's forward over a batch, under autocast when <see cref="AmpDType"/> is set (HF's
    /// <c>autocast_smart_context_manager</c> around <c>compute_loss</c>; backward runs outside it, as in PyTorch).</summary>
    SequenceClassifierOutput Forward(CollatedBatch batch)
    {
        using var autocast = AmpDType is { } amp ? Autocast.Enable(amp) : null;
        return model.Forward(batch);
    }

    TrainingException NonFiniteLoss(double value)
    {
        var last = TrainerCheckpoint.GetLastCheckpoint(Args.OutputDir);
        return new TrainingException(State.GlobalStep + 1,
            $"Training stopped at step {State.GlobalStep + 1} (epoch {State.Epoch ?? 0:0.###}): the loss is {(double.IsNaN(value) ? "NaN" : "infinite")}. "
            + "The weights are those after the previous step and no checkpoint was written for this one"
            + (last is null ? "." : $"; the last good checkpoint is {last}.")
            + " Lower the learning rate, check the labels, or (Fp16) use Bf16.");
    }

    /// <summary>HF <c>_maybe_log_save_evaluate</c>: acts on the log / evaluate / save flags the callbacks set.</summary>
    void MaybeLogSaveEvaluate()
    {
        if (Control.ShouldLog && State.GlobalStep > globalStepLastLogged)
        {
            var logs = new Dictionary<string, double>
            {
                ["loss"] = Math.Round(lossSinceLastLog / (State.GlobalStep - globalStepLastLogged), 4),
            };
            if (lastGradNorm is { } gradNorm) logs["grad_norm"] = gradNorm;
            logs["learning_rate"] = LrScheduler!.LastLr[0];
            lossSinceLastLog = 0;
            globalStepLastLogged = State.GlobalStep;
            Log(logs);
        }
        if (Control.ShouldEvaluate)
        {
            var metrics = Evaluate();
            if (LrScheduler!.IsMetricDriven) LrScheduler.StepOnMetric(MetricToCheck(metrics)); // reduce_lr_on_plateau
            bool isNewBest = DetermineBestMetric(metrics);
            if (Args.SaveStrategy == SaveStrategy.Best) Control.ShouldSave = isNewBest;
        }
        if (Control.ShouldSave)
        {
            SaveCheckpoint();
            CallbackEvent(c => c.OnSave(Args, State, Control));
            Control.ShouldSave = false; // HF's CallbackHandler.on_save
        }
    }

    TrainOutput FinishTraining(double seconds, double totalLoss, int stepsThisRun, TrainingPlan plan)
    {
        Logging.Info("\n\nTraining completed. Do not forget to share your model on huggingface.co/models =)\n\n");
        if (Args.LoadBestModelAtEnd && State.BestModelCheckpoint is { } best)
        {
            Logging.Info($"Loading best model from {best} (score: {State.BestMetric}).");
            TrainerCheckpoint.LoadModelWeights(module, best);
        }
        double trainLoss = totalLoss / Math.Max(stepsThisRun, 0.001);
        var metrics = SpeedMetrics("train", seconds, plan.NumTrainSamples, State.MaxSteps);
        metrics["total_flos"] = State.TotalFlos;
        metrics["train_loss"] = trainLoss;
        Log(metrics);
        // HF: with SaveTotalLimit 1 and a best model, only the best checkpoint is kept at the end — when the best one is
        // this run's, in OutputDir (resumed from another folder's checkpoint, the best may be there: then this run keeps
        // its own last checkpoint). Only this run's checkpoints are deleted.
        if (State.BestModelCheckpoint is { } keep && Args.SaveTotalLimit == 1 && lineage.Any(c => SamePath(c, keep)) && Directory.Exists(keep))
            foreach (var checkpoint in TrainerCheckpoint.Sorted(Args.OutputDir).Where(InLineage))
                if (!SamePath(checkpoint, keep)) TrainerCheckpoint.Delete(checkpoint);
        CallbackEvent(c => c.OnTrainEnd(Args, State, Control));
        return new TrainOutput(State.GlobalStep, trainLoss, metrics);
    }

    // ---- evaluation and prediction -------------------------------------------------------------------------------

    /// <summary>
    /// Runs the model over <paramref name="evalDataset"/> (default: the Trainer's) in eval mode without gradients and
    /// returns <c>{prefix}_loss</c>, the computeMetrics results as <c>{prefix}_name</c>, <c>{prefix}_runtime</c>,
    /// <c>{prefix}_samples_per_second</c>, <c>{prefix}_steps_per_second</c> and, during or after training, "epoch".
    /// The metrics are logged (<see cref="TrainerState.LogHistory"/>) and passed to <see cref="TrainerCallback.OnEvaluate"/>.
    /// </summary>
    public Dictionary<string, double> Evaluate(Dataset? evalDataset = null, string metricKeyPrefix = "eval")
    {
        var dataset = evalDataset ?? EvalDataset ?? throw new InvalidOperationException("Trainer.Evaluate() needs an evalDataset.");
        var clock = Stopwatch.StartNew();
        var output = EvaluationLoop(PrepareDataset(dataset, "evaluation set"), metricKeyPrefix);
        foreach (var kv in SpeedMetrics(metricKeyPrefix, clock.Elapsed.TotalSeconds, output.Predictions.GetLength(0), output.Steps))
            output.Metrics[kv.Key] = kv.Value;
        Log(output.Metrics);
        CallbackEvent(c => c.OnEvaluate(Args, State, Control, output.Metrics));
        Control.ShouldEvaluate = false; // HF's CallbackHandler.on_evaluate
        return output.Metrics;
    }

    /// <summary>HF <c>predict</c>: logits for every example of <paramref name="testDataset"/> (in order), its labels when
    /// it has them, and metrics prefixed <paramref name="metricKeyPrefix"/> ("test_loss", "test_accuracy", ...).</summary>
    public PredictionOutput Predict(Dataset testDataset, string metricKeyPrefix = "test")
    {
        ArgumentNullException.ThrowIfNull(testDataset);
        var clock = Stopwatch.StartNew();
        var output = EvaluationLoop(PrepareDataset(testDataset, "test set"), metricKeyPrefix);
        foreach (var kv in SpeedMetrics(metricKeyPrefix, clock.Elapsed.TotalSeconds, output.Predictions.GetLength(0), output.Steps))
            output.Metrics[kv.Key] = kv.Value;
        CallbackEvent(c => c.OnPredict(Args, State, Control, output.Metrics));
        return new PredictionOutput(output.Predictions, output.LabelIds, output.Metrics);
    }

    sealed record EvalLoopOutput(float[,] Predictions, double[]? LabelIds, Dictionary<string, double> Metrics, int Steps);

    /// <summary>HF <c>evaluation_loop</c>: batches in order, eval mode, no gradients; loss averaged over examples.</summary>
    EvalLoopOutput EvaluationLoop(Dataset dataset, string prefix)
    {
        if (dataset.Count == 0) throw new InvalidOperationException($"The {prefix} data set is empty (0 examples): nothing to evaluate.");
        var loader = new DataLoader(dataset, DataCollator, Args.PerDeviceEvalBatchSize, dropLast: Args.DataloaderDropLast);
        var logits = new List<float>();
        var labels = new List<double>();
        double lossSum = 0;
        int lossExamples = 0, numLabels = 0, examples = 0, steps = 0;
        bool hasLabels = true;
        module.eval();
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var indices in loader.BatchIndices())
            {
                using var scope = NewDisposeScope();
                using var batch = Collate(dataset, indices);
                var output = Forward(batch);
                if (output.Loss is { } loss)
                {
                    lossSum += loss.item<float>() * indices.Length;
                    lossExamples += indices.Length;
                }
                using var cpuLogits = output.Logits.detach().to_type(ScalarType.Float32).cpu();
                numLabels = (int)cpuLogits.shape[^1];
                logits.AddRange(cpuLogits.data<float>());
                if (batch.Labels is { } l)
                {
                    using var cpuLabels = l.to_type(ScalarType.Float64).cpu();
                    labels.AddRange(cpuLabels.data<double>());
                }
                else hasLabels = false;
                examples += indices.Length;
                steps++;
                CallbackEvent(c => c.OnPredictionStep(Args, State, Control, loader.Count));
            }
        }
        finally
        {
            module.train();
        }

        var predictions = new float[examples, numLabels];
        Buffer.BlockCopy(logits.ToArray(), 0, predictions, 0, logits.Count * sizeof(float));
        double[]? labelIds = hasLabels ? labels.ToArray() : null;
        var metrics = new Dictionary<string, double>();
        if (computeMetrics is not null && labelIds is not null)
        {
            IReadOnlyDictionary<string, double> computed;
            try
            {
                computed = computeMetrics(new EvalPrediction(logits.ToArray(), labelIds, numLabels));
            }
            catch (Exception e)
            {
                throw new TrainingException(State.GlobalStep,
                    $"computeMetrics threw {e.GetType().Name} on {examples} {prefix} predictions at step {State.GlobalStep}: {e.Message}", e);
            }
            foreach (var kv in computed ?? throw new TrainingException(State.GlobalStep, "computeMetrics returned null."))
                metrics[kv.Key.StartsWith(prefix + "_", StringComparison.Ordinal) ? kv.Key : $"{prefix}_{kv.Key}"] = kv.Value;
        }
        if (lossExamples > 0) metrics[$"{prefix}_loss"] = lossSum / lossExamples;
        return new EvalLoopOutput(predictions, labelIds, OrderLossFirst(metrics, prefix), steps);
    }

    /// <summary>eval_loss first, then the metrics in computeMetrics order (as the course's output shows them).</summary>
    static Dictionary<string, double> OrderLossFirst(Dictionary<string, double> metrics, string prefix)
    {
        var ordered = new Dictionary<string, double>();
        if (metrics.TryGetValue($"{prefix}_loss", out var loss)) ordered[$"{prefix}_loss"] = loss;
        foreach (var kv in metrics) ordered.TryAdd(kv.Key, kv.Value);
        return ordered;
    }

    /// <summary>The value of "eval_" + <see cref="TrainingArguments.EffectiveMetricForBestModel"/> in
    /// <paramref name="metrics"/>, or HF's error listing the metrics there are.</summary>
    double MetricToCheck(IReadOnlyDictionary<string, double> metrics)
    {
        var name = Args.EffectiveMetricForBestModel ?? "loss";
        var key = name.StartsWith("eval_", StringComparison.Ordinal) ? name : $"eval_{name}";
        return metrics.TryGetValue(key, out var value) ? value
            : throw new TrainingException(State.GlobalStep, $"The MetricForBestModel (metric_for_best_model) training argument is set to '{key}', "
                + $"which is not found in the evaluation metrics. The available evaluation metrics are: {string.Join(", ", metrics.Keys)}. "
                + "Consider changing MetricForBestModel in the TrainingArguments.");
    }

    bool DetermineBestMetric(IReadOnlyDictionary<string, double> metrics)
    {
        if (Args.EffectiveMetricForBestModel is null) return false;
        double value = MetricToCheck(metrics);
        bool greater = Args.EffectiveGreaterIsBetter ?? true;
        State.BestMetric ??= greater ? double.NegativeInfinity : double.PositiveInfinity;
        if (greater ? value > State.BestMetric : value < State.BestMetric)
        {
            State.BestMetric = value;
            State.BestGlobalStep = State.GlobalStep;
            return true;
        }
        return false;
    }

    // ---- checkpoints ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Writes <c>OutputDir/checkpoint-{GlobalStep}</c>: model (config.json, model.safetensors), tokenizer, optimizer,
    /// scheduler and RNG state, trainer_state.json, training_args.json. Everything goes into a temporary folder that
    /// is renamed at the end, so a crash never leaves a half-written checkpoint; then old checkpoints are rotated
    /// (<see cref="TrainingArguments.SaveTotalLimit"/>), never deleting the best one.
    /// </summary>
    void SaveCheckpoint()
    {
        var final = Path.GetFullPath(Path.Combine(Args.OutputDir, $"{TrainerCheckpoint.Prefix}-{State.GlobalStep}"));
        Directory.CreateDirectory(Args.OutputDir);
        if (State.BestGlobalStep is { } bestStep)
        {
            var bestDir = Path.GetFullPath(Path.Combine(Args.OutputDir, $"{TrainerCheckpoint.Prefix}-{bestStep}"));
            if (bestStep == State.GlobalStep || Directory.Exists(bestDir)) State.BestModelCheckpoint = bestDir;
        }
        var temp = TrainerCheckpoint.TempFolderFor(final);
        try
        {
            WriteModelFiles(temp);
            TrainerCheckpoint.SaveOptimizer(Optimizer!, temp);
            TrainerCheckpoint.SaveScheduler(LrScheduler!, temp);
            if (Scaler is not null) TrainerCheckpoint.SaveScaler(Scaler, temp);
            TrainerCheckpoint.SaveRngState(temp);
            State.SavedControl = Control;
            State.SaveToJson(Path.Combine(temp, TrainerCheckpoint.TrainerStateName));
            TrainerCheckpoint.Publish(temp, final);
            lineage.RemoveAll(c => SamePath(c, final));
            lineage.Add(final);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk or an unwritable folder: the finally below removes this save's files; earlier checkpoints
            // were never touched (a replaced checkpoint-N is only set aside once the new one is complete).
            var last = TrainerCheckpoint.GetLastCheckpoint(Args.OutputDir);
            throw new TrainingException(State.GlobalStep,
                $"Could not save the checkpoint of step {State.GlobalStep} to {final}: {e.Message.TrimEnd('.', ' ')}. "
                + "Nothing of it was kept"
                + (last is null ? "" : $"; the last complete checkpoint, {last}, is intact")
                + ". Free some space (or give OutputDir a writable folder), then continue with Train(resumeFromCheckpoint: true).", e);
        }
        finally
        {
            // Best effort: what cannot be removed now is removed by the next Train (RemoveInterruptedSaves).
            try { if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        RotateCheckpoints();
    }

    /// <summary>Holds OutputDir's lock for a <see cref="Train(string?)"/> or <see cref="SaveModel"/> (a no-op when this
    /// Trainer already holds it); the first acquisition also cleans up saves a killed process left unfinished.</summary>
    IDisposable? LockOutputDir()
    {
        if (outputDirLock is not null) return null;
        outputDirLock = OutputDirLock.Acquire(Args.OutputDir);
        var release = new Release(this);
        try
        {
            TrainerCheckpoint.RemoveInterruptedSaves(Args.OutputDir);
        }
        catch
        {
            release.Dispose();
            throw;
        }
        return release;
    }

    sealed class Release(Trainer trainer) : IDisposable
    {
        public void Dispose()
        {
            trainer.outputDirLock?.Dispose();
            trainer.outputDirLock = null;
        }
    }

    /// <summary>HF <c>save_model</c>: the model (config.json + model.safetensors), the tokenizer and training_args.json
    /// into <paramref name="outputDir"/> (default OutputDir) — a folder <c>FromPretrained</c> loads, here and in Python.</summary>
    /// <remarks>The files are written whole or not at all, like a checkpoint: first into a hidden
    /// <c>.saved-model.{guid}.tmp</c> folder inside <paramref name="outputDir"/>, then moved into place (renames, which
    /// need no space). A full disk leaves none of them, and the error says how much space the model needs.</remarks>
    /// <exception cref="TrainingException">The files could not be written (a full disk, an unwritable folder).</exception>
    public void SaveModel(string? outputDir = null)
    {
        var folder = outputDir ?? Args.OutputDir;
        using var outputLock = SamePath(folder, Args.OutputDir) ? LockOutputDir() : null;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".saved-model.{Guid.NewGuid():N}.tmp");
        try
        {
            WriteModelFiles(temp);
            AtomicFile.SyncDirectory(temp);
            foreach (var file in Directory.GetFiles(temp).Order(StringComparer.Ordinal))
                File.Move(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
            AtomicFile.SyncDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TrainingException(State.GlobalStep,
                $"Could not save the model to {folder}: {e.Message.TrimEnd('.', ' ')}. Nothing of it was kept (the model, its tokenizer and "
                + $"training_args.json need about {FormatBytes(ModelFileBytes())}). Free some space (or choose another folder), then save again"
                + (TrainerCheckpoint.GetLastCheckpoint(Args.OutputDir) is { } last ? $"; the last checkpoint, {last}, is intact." : "."), e);
        }
        finally
        {
            try { if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    /// <summary>config.json + model.safetensors, the tokenizer's files and training_args.json into <paramref name="folder"/>.</summary>
    void WriteModelFiles(string folder)
    {
        Directory.CreateDirectory(folder);
        model.SavePretrained(folder);
        ProcessingClass?.SavePretrained(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, TrainerCheckpoint.TrainingArgsName), Args.ToJson());
    }

    /// <summary>About the bytes <see cref="WriteModelFiles"/> writes: the weights (what the model saves: its state dict,
    /// or a PEFT model's adapter at most that) plus the tokenizer's vocabulary and the small JSON files.</summary>
    long ModelFileBytes()
    {
        long weights = module.state_dict().Values.Sum(t => t.numel() * t.ElementSize);
        long tokenizer = (ProcessingClass?.VocabSize ?? 0) * 8L; // vocab.txt: a short token and a newline per line
        return weights + tokenizer + 64 * 1024;
    }

    static string FormatBytes(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.0} GiB"
        : bytes >= 1L << 20 ? $"{bytes / (double)(1L << 20):0.0} MiB" : $"{Math.Max(1, bytes / 1024):N0} KiB";

    bool InLineage(string checkpoint) => lineage.Any(c => SamePath(c, checkpoint));

    /// <summary>HF <c>_rotate_checkpoints</c>: keeps the newest SaveTotalLimit checkpoints, moving the best one to the
    /// kept end first; with a limit of 1 and a best model that is not the newest, keeps 2 (so training can resume).</summary>
    void RotateCheckpoints()
    {
        if (Args.SaveTotalLimit is not { } limit || limit <= 0) return;
        foreach (var foreign in TrainerCheckpoint.Sorted(Args.OutputDir).Where(c => !InLineage(c) && foreignWarned.Add(Path.GetFullPath(c))))
            Logging.Warning($"{foreign} is not a checkpoint of this run (it was there before this run started, and this run did not resume "
                + "from it): SaveTotalLimit (save_total_limit) leaves it alone. Delete it yourself if it is stale.");
        var sorted = TrainerCheckpoint.Sorted(Args.OutputDir).Select(Path.GetFullPath).Where(InLineage).ToList();
        if (State.BestModelCheckpoint is { } best && sorted.FindIndex(c => SamePath(c, best)) is var i and >= 0)
            for (; i < sorted.Count - 2; i++) (sorted[i], sorted[i + 1]) = (sorted[i + 1], sorted[i]);
        if (sorted.Count <= limit) return;
        if (State.BestModelCheckpoint is { } b && limit == 1 && !SamePath(sorted[^1], b)) limit = 2;
        foreach (var checkpoint in sorted.Take(Math.Max(0, sorted.Count - limit)))
        {
            Logging.Info($"Deleting older checkpoint [{checkpoint}] due to args.save_total_limit");
            TrainerCheckpoint.Delete(checkpoint);
        }
    }

    /// <summary>Restores a checkpoint before training; returns the epoch to start in and how many of its optimizer
    /// steps are already done.</summary>
    (int Epoch, int UpdatesToSkip) Resume(string checkpoint, TrainingPlan plan)
    {
        if (!Directory.Exists(checkpoint)) throw new CheckpointException(checkpoint, "checkpoint folder not found");
        var saved = TrainerState.LoadFromJson(Path.Combine(checkpoint, TrainerCheckpoint.TrainerStateName));
        if (saved.TrainBatchSize is { } b && b != Args.PerDeviceTrainBatchSize)
            Logging.Warning($"You are resuming training from a checkpoint trained with a batch size of {b}, but your current batch "
                + $"size is {Args.PerDeviceTrainBatchSize}. Using the new batch size from your TrainingArguments.");
        TrainerCheckpoint.LoadModelWeights(module, checkpoint);
        TrainerCheckpoint.LoadOptimizer(Optimizer!, checkpoint);
        TrainerCheckpoint.LoadScheduler(LrScheduler!, checkpoint);
        if (Scaler is not null) TrainerCheckpoint.LoadScaler(Scaler, checkpoint);
        saved.MaxSteps = plan.MaxSteps;
        saved.NumTrainEpochs = plan.NumTrainEpochs;
        saved.TrainBatchSize = Args.PerDeviceTrainBatchSize;
        saved.LoggingSteps = State.LoggingSteps;
        saved.EvalSteps = State.EvalSteps;
        saved.SaveSteps = State.SaveSteps;
        // Never a path from the file: the checkpoint-N beside the one resumed (normally in OutputDir), if it is there.
        saved.BestModelCheckpoint = TrainerCheckpoint.BestCheckpointIn(Path.GetDirectoryName(Path.GetFullPath(checkpoint).TrimEnd(Path.DirectorySeparatorChar))!, saved);
        State = saved;
        var resumedFolder = Path.GetFullPath(checkpoint).TrimEnd(Path.DirectorySeparatorChar);
        if (SamePath(Path.GetDirectoryName(resumedFolder)!, Args.OutputDir))
        {
            // The run continues the lineage of the checkpoint it resumes: it and the older checkpoints beside it.
            var sorted = TrainerCheckpoint.Sorted(Args.OutputDir).Select(Path.GetFullPath).ToList();
            lineage.AddRange(sorted.Take(sorted.FindIndex(c => SamePath(c, resumedFolder)) + 1));
        }
        int epochsTrained = State.GlobalStep / plan.UpdatesPerEpoch;
        int updatesToSkip = State.GlobalStep % plan.UpdatesPerEpoch;
        Logging.Info($"  Continuing training from checkpoint, will skip to saved global_step\n  Continuing training from epoch {epochsTrained}\n"
            + $"  Continuing training from global step {State.GlobalStep}\n  Will skip the first {epochsTrained} epochs then the first {updatesToSkip} updates in the epoch.");
        return (epochsTrained, updatesToSkip);
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    /// <summary>
    /// HF <c>get_train_dataloader</c>: batches of PerDeviceTrainBatchSize in a random order drawn from
    /// DataSeed ?? Seed (+ epoch), or length-grouped (GroupByLength). Override it for another order, as HF users
    /// override <c>_get_train_sampler</c> (e.g. sequential, to replay a recorded run).
    /// </summary>
    /// <param name="trainDataset">The training set with unused columns already removed.</param>
    protected virtual DataLoader GetTrainDataLoader(Dataset trainDataset) =>
        new(trainDataset, DataCollator, Args.PerDeviceTrainBatchSize, shuffle: true, seed: Args.DataSeed ?? Args.Seed,
            dropLast: Args.DataloaderDropLast, groupByLength: Args.GroupByLength);

    void CreateOptimizerAndScheduler(int maxSteps)
    {
        Optimizer?.Dispose();
        Optimizer = OptimizerFactory.CreateOptimizer(module, Args);
        LrScheduler = LrScheduler.Create(Optimizer, Args, maxSteps);
        Scaler = AmpDType == ScalarType.Float16 ? new GradScaler() : null;
    }

    TrainerState NewState(TrainingPlan plan) => new()
    {
        MaxSteps = plan.MaxSteps,
        NumTrainEpochs = plan.NumTrainEpochs,
        TrainBatchSize = Args.PerDeviceTrainBatchSize,
        LoggingSteps = TrainingArguments.ResolveSteps(Args.LoggingSteps, plan.MaxSteps),
        EvalSteps = TrainingArguments.ResolveSteps(Args.EffectiveEvalSteps, plan.MaxSteps),
        SaveSteps = TrainingArguments.ResolveSteps(Args.SaveSteps, plan.MaxSteps),
    };

    void LogTrainingStart(int examples, TrainingPlan plan) => Logging.Info(
        "***** Running training *****\n"
        + $"  Num examples = {examples:N0}\n  Num Epochs = {plan.NumTrainEpochs:N0}\n"
        + $"  Instantaneous batch size per device = {Args.PerDeviceTrainBatchSize:N0}\n"
        + $"  Total train batch size (w. parallel, distributed & accumulation) = {plan.TotalTrainBatchSize:N0}\n"
        + $"  Gradient Accumulation steps = {Args.GradientAccumulationSteps}\n  Total optimization steps = {plan.MaxSteps:N0}\n"
        + $"  Number of trainable parameters = {parameters.Where(p => p.requires_grad).Sum(p => p.numel()):N0}");

    /// <summary>HF <c>log</c>: adds "epoch", appends the entry (with "step") to the log history, calls OnLog.</summary>
    void Log(Dictionary<string, double> logs)
    {
        if (State.Epoch is { } epoch) logs["epoch"] = epoch;
        State.LogHistory.Add(new Dictionary<string, double>(logs) { ["step"] = State.GlobalStep });
        CallbackEvent(c => c.OnLog(Args, State, Control, logs));
        Control.ShouldLog = false; // HF's CallbackHandler.on_log
    }

    void CallbackEvent(Action<TrainerCallback> e)
    {
        foreach (var callback in callbacks) e(callback);
    }

    CollatedBatch Collate(Dataset dataset, int[] indices) =>
        DataCollator.Collate(indices.Select(i => dataset[i]).ToArray(), Device);

    /// <summary>
    /// The labels a loss can take: class ids 0..classes-1 (or -100, the loss's ignore index) and finite scores. A
    /// missing label (-1, the "no label" of GLUE's test split) or a NaN is refused, naming the row and its file.
    /// </summary>
    /// <exception cref="ArgumentException">A row's label cannot be trained or evaluated on.</exception>
    void CheckLabels(Dataset dataset, string description)
    {
        var column = dataset.Features.ContainsKey("labels") ? "labels" : dataset.Features.ContainsKey("label") ? "label" : null;
        if (column is null) return;
        // The number of classes: the rows of the classification head's weight (classifier.weight [num_labels, hidden]).
        var head = module.named_parameters().LastOrDefault(p => p.name == "classifier.weight" || p.name.EndsWith(".classifier.weight", StringComparison.Ordinal));
        long? classes = head.parameter is { } w ? w.shape[0] : null;
        if (classes == 1) return; // regression: scores, checked below only when they are floats
        var values = dataset[column];
        for (int i = 0; i < values.Count; i++)
        {
            var problem = values[i] switch
            {
                long or int when Convert.ToInt64(values[i], System.Globalization.CultureInfo.InvariantCulture) is var id
                                 && id != -100 && (id < 0 || id >= classes) =>
                    $"is {id}; class ids go from 0 to {(classes ?? 1) - 1}{(id == -1 ? " (-1 means 'no label', as in GLUE's test split)" : "")}",
                float x when !float.IsFinite(x) => $"is {x}, not a finite number",
                double x when !double.IsFinite(x) => $"is {x}, not a finite number",
                null => "is missing",
                _ => null,
            };
            if (problem is null) continue;
            var where = dataset.Info.DataFiles.Count == 1 ? $" ({dataset.Info.DataFiles[0]}, {dataset.Info.Where(i)})" : "";
            throw new ArgumentException($"The {description}'s '{column}' of row {i}{where} {problem}: the loss cannot use it. "
                + "Fix or remove the rows without a usable label before training.", description == "training set" ? "trainDataset" : "evalDataset");
        }
    }

    /// <summary>HF <c>_remove_unused_columns</c>: drops the columns the model's forward does not take (the course's
    /// sentence1, sentence2, idx), saying which, as HF does — but once per set of columns for this Trainer, not at every
    /// evaluation (HF repeats it before each one, which buries the progress of a run in identical lines).</summary>
    Dataset PrepareDataset(Dataset dataset, string description)
    {
        if (!Args.RemoveUnusedColumns) return dataset;
        var keep = model.ForwardArgumentNames.Concat(["label", "label_ids"]).Concat(Args.LabelNames ?? []).ToHashSet(StringComparer.Ordinal);
        var ignored = dataset.ColumnNames.Where(c => !keep.Contains(c)).ToArray();
        if (ignored.Length == 0) return dataset;
        var list = string.Join(", ", ignored);
        var name = module.GetType().Name;
        if (reportedIgnoredColumns.Add(list))
            Logging.Info($"The following columns in the {description} don't have a corresponding argument in `{name}.forward` and have been "
                + $"ignored: {list}. If {list} are not expected by `{name}.forward`,  you can safely ignore this message.");
        return dataset.RemoveColumns(ignored);
    }

    /// <summary>HF <c>speed_metrics</c>: runtime rounded to 4 decimals, rates to 3.</summary>
    static Dictionary<string, double> SpeedMetrics(string prefix, double seconds, double samples, double steps)
    {
        double runtime = Math.Round(seconds, 4);
        var result = new Dictionary<string, double> { [$"{prefix}_runtime"] = runtime };
        if (runtime > 0)
        {
            result[$"{prefix}_samples_per_second"] = Math.Round(samples / runtime, 3);
            result[$"{prefix}_steps_per_second"] = Math.Round(steps / runtime, 3);
        }
        return result;
    }

    static long CountNonEmbeddingParameters(nn.Module module)
    {
        long embedding = module.modules().OfType<Embedding>().SelectMany(m => m.parameters()).Sum(p => p.numel());
        return module.parameters().Sum(p => p.numel()) - embedding;
    }

    static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a).TrimEnd(Path.DirectorySeparatorChar), Path.GetFullPath(b).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal);
}
