using System.Collections.ObjectModel;
using System.Globalization;
using System.Text.Json;

namespace FineTuning.Training;

/// <summary>
/// The settings of a training run, as Hugging Face transformers 4.x <c>TrainingArguments</c> keeps them: the same
/// names in PascalCase, the same defaults. Only <see cref="OutputDir"/> is required.
/// </summary>
/// <remarks>
/// <para>The record is immutable; derive variants with <c>with { ... }</c>. Values are checked in one place,
/// <see cref="Validate"/> (the Trainer calls it; <see cref="Validated"/> is the same for a fluent style), which throws
/// <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is the property at fault.</para>
/// <para>Where HF fills a field in <c>__post_init__</c> (eval_steps, metric_for_best_model, greater_is_better), the
/// stored value stays as given and an <c>Effective*</c> property gives the resolved one.</para>
/// <para><see cref="ToJson"/> writes <c>training_args.json</c> with HF's snake_case keys; <see cref="FromJson"/>
/// reads it back. Equality compares the serialized form, so two arguments are equal when every field is.</para>
/// </remarks>
public sealed record TrainingArguments
{
    /// <summary>The <see cref="Optim"/> values this library implements.</summary>
    public static IReadOnlyList<string> SupportedOptimizers { get; } = new ReadOnlyCollection<string>(["adamw_torch_fused", "adamw_torch"]);

    /// <summary>The <see cref="LogLevel"/> values HF accepts.</summary>
    public static IReadOnlyList<string> SupportedLogLevels { get; } =
        new ReadOnlyCollection<string>(["passive", "debug", "info", "warning", "error", "critical"]);

    static readonly IReadOnlyDictionary<string, double> NoKwargs =
        new ReadOnlyDictionary<string, double>(new Dictionary<string, double>());

    IReadOnlyDictionary<string, double> lrSchedulerKwargs = NoKwargs;
    IReadOnlyList<string>? labelNames;
    IReadOnlyList<string> reportTo = new ReadOnlyCollection<string>(["none"]);

    // ---- Output ------------------------------------------------------------------------------------------------

    /// <summary><c>output_dir</c>, required: the folder checkpoints (<c>checkpoint-N</c>) and the final model are
    /// written to, e.g. "bert-mrpc".</summary>
    public required string OutputDir { get; init; }

    /// <summary><c>overwrite_output_dir</c>, default false: whether to write into an <see cref="OutputDir"/> that
    /// already holds checkpoints. Usually false; true when re-running an experiment from scratch.</summary>
    public bool OverwriteOutputDir { get; init; }

    /// <summary><c>do_train</c>, default false: informational flag for scripts (the Trainer does not read it).</summary>
    public bool DoTrain { get; init; }

    /// <summary><c>do_eval</c>, default false: informational flag for scripts (HF sets it to true when
    /// <see cref="EvalStrategy"/> is not No; the Trainer does not read it).</summary>
    public bool DoEval { get; init; }

    /// <summary><c>do_predict</c>, default false: informational flag for scripts (the Trainer does not read it).</summary>
    public bool DoPredict { get; init; }

    // ---- Duration and batch size -------------------------------------------------------------------------------

    /// <summary><c>num_train_epochs</c>, default 3.0: how many passes over the training set; a fraction runs the
    /// last epoch partly. Ignored when <see cref="MaxSteps"/> &gt; 0. Typical: 2 to 5 for BERT fine-tuning.</summary>
    public double NumTrainEpochs { get; init; } = 3.0;

    /// <summary><c>max_steps</c>, default -1: when &gt; 0, the total number of optimizer steps, overriding
    /// <see cref="NumTrainEpochs"/>. -1 (off) normally; a small number for smoke tests.</summary>
    public int MaxSteps { get; init; } = -1;

    /// <summary><c>per_device_train_batch_size</c>, default 8: examples per training forward pass, at least 1.
    /// 16 or 32 for BERT-base on a GPU.</summary>
    public int PerDeviceTrainBatchSize { get; init; } = 8;

    /// <summary><c>per_device_eval_batch_size</c>, default 8: examples per evaluation forward pass, at least 1.
    /// Often 2× the training batch size (no gradients to keep).</summary>
    public int PerDeviceEvalBatchSize { get; init; } = 8;

    /// <summary><c>gradient_accumulation_steps</c>, default 1: forward/backward passes per optimizer step (the
    /// loss of each is divided by this), at least 1. The effective batch is this × the batch size; e.g. 4 to reach
    /// a batch of 32 with 8 examples per pass.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary><c>eval_accumulation_steps</c>, default null: evaluation batches whose predictions are gathered
    /// before moving them to the CPU; null keeps all on the device. At least 1 when set; rarely needed.</summary>
    public int? EvalAccumulationSteps { get; init; }

    /// <summary><c>dataloader_drop_last</c>, default false: whether to drop the last incomplete training batch.
    /// Usually false.</summary>
    public bool DataloaderDropLast { get; init; }

    /// <summary><c>dataloader_num_workers</c>, default 0: background workers loading batches; 0 loads them in the
    /// training thread. At least 0; 0 is typical here (tokenized data is already in memory).</summary>
    public int DataloaderNumWorkers { get; init; }

    /// <summary><c>group_by_length</c>, default false: whether the training sampler groups examples of similar
    /// length (HF's LengthGroupedSampler) to cut padding. True speeds up dynamic padding noticeably.</summary>
    public bool GroupByLength { get; init; }

    /// <summary><c>length_column_name</c>, default "length": the dataset column holding precomputed lengths for
    /// <see cref="GroupByLength"/> (lengths are computed from input_ids when it is absent).</summary>
    public string LengthColumnName { get; init; } = "length";

    /// <summary><c>remove_unused_columns</c>, default true: whether dataset columns the model's forward does not
    /// take (e.g. "sentence1", "idx") are dropped before collation. Usually true.</summary>
    public bool RemoveUnusedColumns { get; init; } = true;

    /// <summary><c>label_names</c>, default null: the batch keys holding labels; null means ["labels"] for a
    /// classification model. Setting it keeps a copy.</summary>
    public IReadOnlyList<string>? LabelNames
    {
        get => labelNames;
        init => labelNames = value is null ? null : new ReadOnlyCollection<string>(value.ToArray());
    }

    /// <summary><c>seed</c>, default 42: the random seed set at the start of training (model init, dropout,
    /// shuffling). Any integer.</summary>
    public int Seed { get; init; } = 42;

    /// <summary><c>data_seed</c>, default null: a separate seed for the data samplers; null uses
    /// <see cref="Seed"/>. Usually null.</summary>
    public int? DataSeed { get; init; }

    // ---- Learning rate, optimizer and schedule -----------------------------------------------------------------

    /// <summary><c>optim</c>, default "adamw_torch_fused" (HF's default with torch 2.8 or newer; libtorch here is 2.10):
    /// the optimizer, one of <see cref="SupportedOptimizers"/>. "adamw_torch_fused" is torch.optim.AdamW(fused=True)
    /// (<see cref="FusedAdamW"/>: libtorch's one-pass kernel, several times faster on a CPU); "adamw_torch" is
    /// torch.optim.AdamW as TorchSharp's AdamW ports it. Both compute the same update up to float rounding.
    /// "adamw_hf" (transformers' own AdamW, HF's default up to 4.32) is rejected by <see cref="Validate"/> rather than
    /// silently replaced, since its updates differ.</summary>
    public string Optim { get; init; } = "adamw_torch_fused";

    /// <summary><c>learning_rate</c>, default 5e-5: the peak learning rate of AdamW, &gt;= 0. 2e-5 to 5e-5 for
    /// BERT fine-tuning.</summary>
    public double LearningRate { get; init; } = 5e-5;

    /// <summary><c>weight_decay</c>, default 0: AdamW's decoupled weight decay, applied to every weight except
    /// biases and LayerNorm weights; &gt;= 0. 0.01 is the usual BERT value.</summary>
    public double WeightDecay { get; init; }

    /// <summary><c>adam_beta1</c>, default 0.9: AdamW's first-moment decay, in [0, 1). Almost always 0.9.</summary>
    public double AdamBeta1 { get; init; } = 0.9;

    /// <summary><c>adam_beta2</c>, default 0.999: AdamW's second-moment decay, in [0, 1). 0.999 (0.98 for some
    /// large-batch recipes).</summary>
    public double AdamBeta2 { get; init; } = 0.999;

    /// <summary><c>adam_epsilon</c>, default 1e-8: AdamW's denominator epsilon, &gt;= 0. Almost always 1e-8
    /// (1e-6 for RoBERTa-style recipes).</summary>
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary><c>max_grad_norm</c>, default 1.0: gradients are clipped to this global L2 norm before each
    /// optimizer step; 0 turns clipping off. 1.0 is standard.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary><c>lr_scheduler_type</c>, default Linear ("linear"): how the learning rate changes over the run
    /// (see <see cref="LrSchedules"/>). Linear for BERT fine-tuning; Cosine is also common.</summary>
    public SchedulerType LrSchedulerType { get; init; } = SchedulerType.Linear;

    /// <summary><c>lr_scheduler_kwargs</c>, default {} (empty): extra arguments of the schedule: num_cycles
    /// (cosine, cosine_with_restarts), lr_end and power (polynomial), timescale (inverse_sqrt). Usually empty.
    /// Setting it keeps a copy.</summary>
    public IReadOnlyDictionary<string, double> LrSchedulerKwargs
    {
        get => lrSchedulerKwargs;
        init => lrSchedulerKwargs = new ReadOnlyDictionary<string, double>(new Dictionary<string, double>(
            value ?? throw new ArgumentNullException(nameof(LrSchedulerKwargs)), StringComparer.Ordinal));
    }

    /// <summary><c>warmup_ratio</c>, default 0: the fraction of all training steps spent warming up linearly from
    /// 0, in [0, 1]; used only when <see cref="WarmupSteps"/> is 0. Typical: 0.06 or 0.1.</summary>
    public double WarmupRatio { get; init; }

    /// <summary><c>warmup_steps</c>, default 0: optimizer steps spent warming up linearly from 0; when &gt; 0 it
    /// overrides <see cref="WarmupRatio"/>. &gt;= 0; typically a few hundred, or 0.</summary>
    public int WarmupSteps { get; init; }

    /// <summary><c>label_smoothing_factor</c>, default 0: label smoothing of the cross-entropy loss, in [0, 1).
    /// Usually 0; 0.1 sometimes.</summary>
    public double LabelSmoothingFactor { get; init; }

    /// <summary><c>gradient_checkpointing</c>, default false: recompute activations in the backward pass to save
    /// memory at ~30% more compute. False unless memory is short.</summary>
    public bool GradientCheckpointing { get; init; }

    // ---- Mixed precision and device ----------------------------------------------------------------------------

    /// <summary><c>bf16</c>, default false: run the matmul-heavy layers in bfloat16 (master weights stay fp32).
    /// True on hardware with fast bf16 (Ampere+ GPUs, AVX-512 BF16 CPUs). Not together with <see cref="Fp16"/>.</summary>
    public bool Bf16 { get; init; }

    /// <summary><c>fp16</c>, default false: run the matmul-heavy layers in float16 with dynamic loss scaling.
    /// True on older GPUs without bf16. Not together with <see cref="Bf16"/>.</summary>
    public bool Fp16 { get; init; }

    /// <summary><c>use_cpu</c>, default false: train on the CPU even when CUDA is available. False normally; true
    /// for tests and debugging.</summary>
    public bool UseCpu { get; init; }

    // ---- Evaluation --------------------------------------------------------------------------------------------

    /// <summary><c>eval_strategy</c>, default No ("no"): when to evaluate on the eval dataset during training.
    /// Epoch is typical for fine-tuning; Steps (with <see cref="EvalSteps"/>) for long runs.</summary>
    public IntervalStrategy EvalStrategy { get; init; } = IntervalStrategy.No;

    /// <summary><c>eval_steps</c>, default null: evaluate every this many steps when <see cref="EvalStrategy"/> is
    /// Steps; null or 0 means "same as <see cref="LoggingSteps"/>" (see <see cref="EffectiveEvalSteps"/>). A value
    /// below 1 is a ratio of the total steps. Typical: 500.</summary>
    public double? EvalSteps { get; init; }

    /// <summary><c>prediction_loss_only</c>, default false: whether evaluation returns only the loss (no logits,
    /// no metrics). Usually false.</summary>
    public bool PredictionLossOnly { get; init; }

    /// <summary><c>include_inputs_for_metrics</c>, default false: whether the metrics function also receives the
    /// inputs. Usually false.</summary>
    public bool IncludeInputsForMetrics { get; init; }

    /// <summary><c>load_best_model_at_end</c>, default false: reload the best checkpoint (by
    /// <see cref="EffectiveMetricForBestModel"/>) when training ends. Needs <see cref="SaveStrategy"/> equal to
    /// <see cref="EvalStrategy"/> (or Best). Often true with <see cref="SaveTotalLimit"/> set.</summary>
    public bool LoadBestModelAtEnd { get; init; }

    /// <summary><c>metric_for_best_model</c>, default null: the metric that decides the best checkpoint, with or
    /// without the "eval_" prefix, e.g. "accuracy" or "f1"; null means "loss" when <see cref="LoadBestModelAtEnd"/>
    /// is set (see <see cref="EffectiveMetricForBestModel"/>).</summary>
    public string? MetricForBestModel { get; init; }

    /// <summary><c>greater_is_better</c>, default null: whether a larger <see cref="MetricForBestModel"/> is
    /// better; null infers it as HF 4.26 does: false for "loss" and "eval_loss", true otherwise (see
    /// <see cref="EffectiveGreaterIsBetter"/>).</summary>
    public bool? GreaterIsBetter { get; init; }

    // ---- Saving ------------------------------------------------------------------------------------------------

    /// <summary><c>save_strategy</c>, default Steps ("steps"): when to write a checkpoint. Epoch for short
    /// fine-tuning runs; No for experiments.</summary>
    public SaveStrategy SaveStrategy { get; init; } = SaveStrategy.Steps;

    /// <summary><c>save_steps</c>, default 500: save every this many steps when <see cref="SaveStrategy"/> is
    /// Steps; &gt; 0, a value below 1 is a ratio of the total steps, above 1 it must be whole.</summary>
    public double SaveSteps { get; init; } = 500;

    /// <summary><c>save_total_limit</c>, default null: keep at most this many checkpoints, deleting the oldest
    /// (never the best); null keeps all. At least 1 when set; 2 or 3 is typical.</summary>
    public int? SaveTotalLimit { get; init; }

    /// <summary><c>save_safetensors</c>, default true: write weights as model.safetensors (the only format this
    /// library writes). Keep true.</summary>
    public bool SaveSafetensors { get; init; } = true;

    /// <summary><c>resume_from_checkpoint</c>, default null: a checkpoint folder to resume from; informational for
    /// scripts (pass it to <c>Train(resumeFromCheckpoint:)</c>).</summary>
    public string? ResumeFromCheckpoint { get; init; }

    // ---- Logging -----------------------------------------------------------------------------------------------

    /// <summary><c>log_level</c>, default "passive": the library's verbosity on the main process, one of
    /// <see cref="SupportedLogLevels"/>; "passive" leaves <see cref="Logging.Verbosity"/> as it is.</summary>
    public string LogLevel { get; init; } = "passive";

    /// <summary><c>logging_dir</c>, default null: where logs go; null means HF's
    /// <c>output_dir/runs/DATE_HOST</c>. Rarely set.</summary>
    public string? LoggingDir { get; init; }

    /// <summary><c>logging_strategy</c>, default Steps ("steps"): when to log the training loss and learning
    /// rate. Steps is typical.</summary>
    public IntervalStrategy LoggingStrategy { get; init; } = IntervalStrategy.Steps;

    /// <summary><c>logging_first_step</c>, default false: whether to log after the first optimizer step too.</summary>
    public bool LoggingFirstStep { get; init; }

    /// <summary><c>logging_steps</c>, default 500: log every this many steps when <see cref="LoggingStrategy"/> is
    /// Steps; &gt; 0, a value below 1 is a ratio of the total steps (HF allows it), above 1 it must be whole.
    /// 10 to 100 for short fine-tuning runs.</summary>
    public double LoggingSteps { get; init; } = 500;

    /// <summary><c>logging_nan_inf_filter</c>, default true: whether NaN/inf losses are left out of the logged
    /// average (they are replaced by the average so far). Keep true.</summary>
    public bool LoggingNanInfFilter { get; init; } = true;

    /// <summary><c>report_to</c>, default ["none"]: the experiment trackers to report to. HF's default "all" means
    /// every installed integration (TensorBoard, W&amp;B, ...); this library has none, so the only accepted value is
    /// "none". Setting it keeps a copy.</summary>
    public IReadOnlyList<string> ReportTo
    {
        get => reportTo;
        init => reportTo = new ReadOnlyCollection<string>(
            (value ?? throw new ArgumentNullException(nameof(ReportTo))).ToArray());
    }

    /// <summary><c>run_name</c>, default null: a name for the run in logs; null means <see cref="OutputDir"/>.</summary>
    public string? RunName { get; init; }

    /// <summary><c>disable_tqdm</c>, default false: whether to hide the progress display.</summary>
    public bool DisableTqdm { get; init; }

    // ---- Derived values ----------------------------------------------------------------------------------------

    /// <summary>The evaluation interval HF uses: <see cref="EvalSteps"/>, or <see cref="LoggingSteps"/> when it is
    /// null or 0 (HF's <c>__post_init__</c>).</summary>
    public double EffectiveEvalSteps => EvalSteps is { } s && s != 0 ? s : LoggingSteps;

    /// <summary><see cref="MetricForBestModel"/>, or "loss" when it is null and <see cref="LoadBestModelAtEnd"/> is
    /// set or the schedule is reduce_lr_on_plateau (HF's <c>__post_init__</c>); null otherwise.</summary>
    public string? EffectiveMetricForBestModel =>
        MetricForBestModel ?? (LoadBestModelAtEnd || LrSchedulerType == SchedulerType.ReduceLrOnPlateau ? "loss" : null);

    /// <summary><see cref="GreaterIsBetter"/>, or, when null and there is a metric, whether the metric is something
    /// other than "loss" / "eval_loss" (HF 4.26's rule); null when there is no metric.</summary>
    public bool? EffectiveGreaterIsBetter =>
        GreaterIsBetter ?? (EffectiveMetricForBestModel is { } m ? m is not ("loss" or "eval_loss") : null);

    /// <summary>HF's <c>get_warmup_steps</c>: <see cref="WarmupSteps"/> when &gt; 0, else
    /// ceil(<see cref="WarmupRatio"/> × <paramref name="numTrainingSteps"/>).</summary>
    public int GetWarmupSteps(int numTrainingSteps) =>
        WarmupSteps > 0 ? WarmupSteps : (int)Math.Ceiling(numTrainingSteps * WarmupRatio);

    /// <summary>An interval in steps as the Trainer resolves it: a ratio (&lt; 1) becomes
    /// ceil(<paramref name="maxSteps"/> × ratio), a whole number stays.</summary>
    public static int ResolveSteps(double steps, int maxSteps) =>
        steps < 1 ? (int)Math.Ceiling(maxSteps * steps) : (int)steps;

    // ---- Validation --------------------------------------------------------------------------------------------

    /// <summary><see cref="Validate"/>s, then returns this record (for <c>new TrainingArguments { ... }.Validated()</c>).</summary>
    public TrainingArguments Validated()
    {
        Validate();
        return this;
    }

    /// <summary>
    /// Checks every value, the one place where that happens. Throws <see cref="ArgumentException"/> whose
    /// <see cref="ArgumentException.ParamName"/> is the property at fault and whose message names it (messages
    /// close to HF's where HF has one). Logs a warning when both warmup settings are given, as HF does.
    /// </summary>
    public void Validate()
    {
        static void Fail(string property, string message) => throw new ArgumentException(message, property);
        static string F(double v) => PythonJson.Float(v);

        if (string.IsNullOrWhiteSpace(OutputDir)) Fail(nameof(OutputDir), "OutputDir (output_dir) must be a folder path, got an empty value");

        // Duration and batch size.
        if (PerDeviceTrainBatchSize < 1)
            Fail(nameof(PerDeviceTrainBatchSize), $"PerDeviceTrainBatchSize (per_device_train_batch_size) must be at least 1, got {PerDeviceTrainBatchSize}");
        if (PerDeviceEvalBatchSize < 1)
            Fail(nameof(PerDeviceEvalBatchSize), $"PerDeviceEvalBatchSize (per_device_eval_batch_size) must be at least 1, got {PerDeviceEvalBatchSize}");
        if (GradientAccumulationSteps < 1)
            Fail(nameof(GradientAccumulationSteps), $"GradientAccumulationSteps (gradient_accumulation_steps) must be at least 1, got {GradientAccumulationSteps}");
        if (EvalAccumulationSteps is < 1)
            Fail(nameof(EvalAccumulationSteps), $"EvalAccumulationSteps (eval_accumulation_steps) must be null or at least 1, got {EvalAccumulationSteps}");
        if (MaxSteps <= 0 && !(NumTrainEpochs > 0 && double.IsFinite(NumTrainEpochs)))
            Fail(nameof(NumTrainEpochs), $"NumTrainEpochs (num_train_epochs) must be a positive number when MaxSteps (max_steps) "
                + $"is not set (> 0); got num_train_epochs {F(NumTrainEpochs)}, max_steps {MaxSteps}");
        if (DataloaderNumWorkers < 0)
            Fail(nameof(DataloaderNumWorkers), $"DataloaderNumWorkers (dataloader_num_workers) must be >= 0, got {DataloaderNumWorkers}");
        if (GroupByLength && string.IsNullOrEmpty(LengthColumnName))
            Fail(nameof(LengthColumnName), "LengthColumnName (length_column_name) must not be empty when GroupByLength is set");

        // Optimizer and schedule.
        if (Optim == "adamw_hf")
            Fail(nameof(Optim), "Optim (optim) 'adamw_hf' (transformers' own AdamW, deprecated in HF) is not implemented: "
                + "its updates differ from torch's; use 'adamw_torch' (HF's default since 4.33)");
        if (Optim is null || !SupportedOptimizers.Contains(Optim))
            Fail(nameof(Optim), $"Optim (optim) '{Optim}' is not supported (supported: {string.Join(", ", SupportedOptimizers)})");
        if (!(LearningRate >= 0) || !double.IsFinite(LearningRate))
            Fail(nameof(LearningRate), $"LearningRate (learning_rate) must be a finite number >= 0, got {F(LearningRate)}");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay))
            Fail(nameof(WeightDecay), $"WeightDecay (weight_decay) must be a finite number >= 0, got {F(WeightDecay)}");
        if (!(AdamBeta1 >= 0 && AdamBeta1 < 1))
            Fail(nameof(AdamBeta1), $"AdamBeta1 (adam_beta1) must be in [0, 1), got {F(AdamBeta1)}");
        if (!(AdamBeta2 >= 0 && AdamBeta2 < 1))
            Fail(nameof(AdamBeta2), $"AdamBeta2 (adam_beta2) must be in [0, 1), got {F(AdamBeta2)}");
        if (!(AdamEpsilon >= 0) || !double.IsFinite(AdamEpsilon))
            Fail(nameof(AdamEpsilon), $"AdamEpsilon (adam_epsilon) must be a finite number >= 0, got {F(AdamEpsilon)}");
        if (!(MaxGradNorm >= 0) || !double.IsFinite(MaxGradNorm))
            Fail(nameof(MaxGradNorm), $"MaxGradNorm (max_grad_norm) must be a finite number >= 0 (0 = no clipping), got {F(MaxGradNorm)}");
        if (!Enum.IsDefined(LrSchedulerType))
            Fail(nameof(LrSchedulerType), $"LrSchedulerType (lr_scheduler_type) {(int)LrSchedulerType} is not a SchedulerType");
        if (!(WarmupRatio >= 0 && WarmupRatio <= 1))
            Fail(nameof(WarmupRatio), $"WarmupRatio (warmup_ratio) must lie in range [0,1], got {F(WarmupRatio)}");
        if (WarmupSteps < 0)
            Fail(nameof(WarmupSteps), $"WarmupSteps (warmup_steps) must be >= 0, got {WarmupSteps}");
        if (WarmupRatio > 0 && WarmupSteps > 0)
            Logging.Warning("Both warmup_ratio and warmup_steps given, warmup_steps will override any effect of warmup_ratio during training");
        if (!(LabelSmoothingFactor >= 0 && LabelSmoothingFactor < 1))
            Fail(nameof(LabelSmoothingFactor), $"LabelSmoothingFactor (label_smoothing_factor) must be in [0, 1), got {F(LabelSmoothingFactor)}");

        // Mixed precision.
        if (Bf16 && Fp16)
            Fail(nameof(Fp16), "At most one of Fp16 (fp16) and Bf16 (bf16) can be true, but not both");

        // Intervals.
        void Interval(string property, string pyName, double steps)
        {
            if (!(steps > 0) || !double.IsFinite(steps))
                Fail(property, $"{property} ({pyName}) must be > 0 when its strategy is steps, got {F(steps)}");
            if (steps > 1 && steps != Math.Floor(steps))
                Fail(property, $"--{pyName} must be an integer if bigger than 1: {F(steps)}");
        }
        if (!Enum.IsDefined(LoggingStrategy))
            Fail(nameof(LoggingStrategy), $"LoggingStrategy (logging_strategy) {(int)LoggingStrategy} is not an IntervalStrategy");
        if (!Enum.IsDefined(EvalStrategy))
            Fail(nameof(EvalStrategy), $"EvalStrategy (eval_strategy) {(int)EvalStrategy} is not an IntervalStrategy");
        if (!Enum.IsDefined(SaveStrategy))
            Fail(nameof(SaveStrategy), $"SaveStrategy (save_strategy) {(int)SaveStrategy} is not a SaveStrategy");
        if (EvalSteps is < 0)
            Fail(nameof(EvalSteps), $"EvalSteps (eval_steps) must be null or > 0, got {F(EvalSteps.Value)}");
        if (EvalStrategy == IntervalStrategy.Steps)
        {
            if (EffectiveEvalSteps <= 0)
                Fail(nameof(EvalSteps), $"evaluation strategy steps requires either non-zero EvalSteps (--eval_steps) or "
                    + $"LoggingSteps (--logging_steps); got eval_steps {(EvalSteps is { } e ? F(e) : "null")}, logging_steps {F(LoggingSteps)}");
            Interval(EvalSteps is { } s && s != 0 ? nameof(EvalSteps) : nameof(LoggingSteps),
                EvalSteps is { } s2 && s2 != 0 ? "eval_steps" : "logging_steps", EffectiveEvalSteps);
        }
        if (LoggingStrategy == IntervalStrategy.Steps)
        {
            if (LoggingSteps == 0)
                Fail(nameof(LoggingSteps), "logging strategy steps requires non-zero LoggingSteps (--logging_steps)");
            Interval(nameof(LoggingSteps), "logging_steps", LoggingSteps);
        }
        if (SaveStrategy == SaveStrategy.Steps) Interval(nameof(SaveSteps), "save_steps", SaveSteps);
        if (SaveTotalLimit is < 1)
            Fail(nameof(SaveTotalLimit), $"SaveTotalLimit (save_total_limit) must be null (keep all) or at least 1, got {SaveTotalLimit}");
        if (!SaveSafetensors)
            Fail(nameof(SaveSafetensors), "SaveSafetensors (save_safetensors) false is not supported: this library writes only model.safetensors");

        // Best model.
        if (SaveStrategy == SaveStrategy.Best && MetricForBestModel is null)
            Fail(nameof(MetricForBestModel), "MetricForBestModel (metric_for_best_model) must be provided when using 'best' save_strategy");
        if (LoadBestModelAtEnd && SaveStrategy != SaveStrategy.Best)
        {
            if ((int)EvalStrategy != (int)SaveStrategy)
                Fail(nameof(SaveStrategy), "--load_best_model_at_end requires the save and eval strategy to match, but found\n"
                    + $"- Evaluation strategy: {EvalStrategy.ToPython()}\n- Save strategy: {SaveStrategy.ToPython()}");
            var evalSteps = EffectiveEvalSteps;
            if (EvalStrategy == IntervalStrategy.Steps && SaveSteps % evalSteps != 0)
            {
                if (evalSteps < 1 || SaveSteps < 1)
                {
                    if (!(evalSteps < 1 && SaveSteps < 1))
                        Fail(nameof(SaveSteps), "--load_best_model_at_end requires the saving steps to be a multiple of the "
                            + "evaluation steps, which cannot get guaranteed when mixing ratio and absolute steps for "
                            + $"save_steps {F(SaveSteps)} and eval_steps {F(evalSteps)}.");
                    const double LargeMultiplier = 1_000_000; // HF's work-around for floating point ratios
                    if (Math.Round(SaveSteps * LargeMultiplier) % Math.Round(evalSteps * LargeMultiplier) != 0)
                        Fail(nameof(SaveSteps), "--load_best_model_at_end requires the saving steps to be a multiple of the "
                            + $"evaluation steps, but found {F(SaveSteps)}, which is not a multiple of {F(evalSteps)}.");
                }
                else
                    Fail(nameof(SaveSteps), "--load_best_model_at_end requires the saving steps to be a round multiple of the "
                        + $"evaluation steps, but found {F(SaveSteps)}, which is not a round multiple of {F(evalSteps)}.");
            }
        }
        if (LrSchedulerType == SchedulerType.ReduceLrOnPlateau && EvalStrategy == IntervalStrategy.No)
            Fail(nameof(LrSchedulerType), "lr_scheduler_type reduce_lr_on_plateau requires an eval strategy (EvalStrategy is no)");

        // Logging and integrations.
        if (LogLevel is null || !SupportedLogLevels.Contains(LogLevel))
            Fail(nameof(LogLevel), $"LogLevel (log_level) '{LogLevel}' is not one of {string.Join(", ", SupportedLogLevels)}");
        foreach (var integration in ReportTo)
            if (integration != "none")
                Fail(nameof(ReportTo), $"ReportTo (report_to) '{integration}' is not available: this library has no "
                    + "reporting integrations; use [\"none\"]");
        if (LabelNames is { } names && names.Any(string.IsNullOrEmpty))
            Fail(nameof(LabelNames), "LabelNames (label_names) must not contain empty names");
    }

    // ---- JSON --------------------------------------------------------------------------------------------------

    delegate TrainingArguments Reader(TrainingArguments args, Field field);

    /// <summary>One field: its HF snake_case name (the JSON key and the command-line option), HF's help text, how to
    /// write it to JSON, how to read it into a copy (from JSON or from command-line words: see <see cref="Field"/>).</summary>
    sealed record FieldMap(string Key, string Help, Action<PythonJson.Writer, TrainingArguments> Write, Reader Read);

    static readonly FieldMap[] Fields =
    [
        new("output_dir", "The output directory where the model predictions and checkpoints will be written.",
            (w, a) => w.String(a.OutputDir), (a, f) => a with { OutputDir = f.String(nullable: false)! }),
        new("overwrite_output_dir", "Overwrite the content of the output directory. Use this to continue training if output_dir points to a checkpoint directory.",
            (w, a) => w.Bool(a.OverwriteOutputDir), (a, f) => a with { OverwriteOutputDir = f.Bool() }),
        new("do_train", "Whether to run training.",
            (w, a) => w.Bool(a.DoTrain), (a, f) => a with { DoTrain = f.Bool() }),
        new("do_eval", "Whether to run eval on the dev set.",
            (w, a) => w.Bool(a.DoEval), (a, f) => a with { DoEval = f.Bool() }),
        new("do_predict", "Whether to run predictions on the test set.",
            (w, a) => w.Bool(a.DoPredict), (a, f) => a with { DoPredict = f.Bool() }),
        new("num_train_epochs", "Total number of training epochs to perform.",
            (w, a) => w.Double(a.NumTrainEpochs), (a, f) => a with { NumTrainEpochs = f.Double()!.Value }),
        new("max_steps", "If > 0: set total number of training steps to perform. Override num_train_epochs.",
            (w, a) => w.Int(a.MaxSteps), (a, f) => a with { MaxSteps = f.Int()!.Value }),
        new("per_device_train_batch_size", "Batch size per device accelerator core/CPU for training.",
            (w, a) => w.Int(a.PerDeviceTrainBatchSize), (a, f) => a with { PerDeviceTrainBatchSize = f.Int()!.Value }),
        new("per_device_eval_batch_size", "Batch size per device accelerator core/CPU for evaluation.",
            (w, a) => w.Int(a.PerDeviceEvalBatchSize), (a, f) => a with { PerDeviceEvalBatchSize = f.Int()!.Value }),
        new("gradient_accumulation_steps", "Number of updates steps to accumulate before performing a backward/update pass.",
            (w, a) => w.Int(a.GradientAccumulationSteps), (a, f) => a with { GradientAccumulationSteps = f.Int()!.Value }),
        new("eval_accumulation_steps", "Number of predictions steps to accumulate before moving the tensors to the CPU.",
            (w, a) => w.Int(a.EvalAccumulationSteps), (a, f) => a with { EvalAccumulationSteps = f.Int(nullable: true) }),
        new("dataloader_drop_last", "Drop the last incomplete batch if it is not divisible by the batch size.",
            (w, a) => w.Bool(a.DataloaderDropLast), (a, f) => a with { DataloaderDropLast = f.Bool() }),
        new("dataloader_num_workers", "Number of subprocesses to use for data loading. 0 means that the data will be loaded in the main process.",
            (w, a) => w.Int(a.DataloaderNumWorkers), (a, f) => a with { DataloaderNumWorkers = f.Int()!.Value }),
        new("group_by_length", "Whether or not to group samples of roughly the same length together when batching.",
            (w, a) => w.Bool(a.GroupByLength), (a, f) => a with { GroupByLength = f.Bool() }),
        new("length_column_name", "Column name with precomputed lengths to use when grouping by length.",
            (w, a) => w.String(a.LengthColumnName), (a, f) => a with { LengthColumnName = f.String(nullable: false)! }),
        new("remove_unused_columns", "Remove columns not required by the model's forward.",
            (w, a) => w.Bool(a.RemoveUnusedColumns), (a, f) => a with { RemoveUnusedColumns = f.Bool() }),
        new("label_names", "The list of keys in your dictionary of inputs that correspond to the labels.",
            (w, a) => WriteList(w, a.LabelNames), (a, f) => a with { LabelNames = f.StringList(nullable: true) }),
        new("seed", "Random seed that will be set at the beginning of training.",
            (w, a) => w.Int(a.Seed), (a, f) => a with { Seed = f.Int()!.Value }),
        new("data_seed", "Random seed to be used with data samplers.",
            (w, a) => w.Int(a.DataSeed), (a, f) => a with { DataSeed = f.Int(nullable: true) }),
        new("optim", "The optimizer to use (this library implements adamw_torch).",
            (w, a) => w.String(a.Optim), (a, f) => a with { Optim = f.String(nullable: false)! }),
        new("learning_rate", "The initial learning rate for AdamW.",
            (w, a) => w.Double(a.LearningRate), (a, f) => a with { LearningRate = f.Double()!.Value }),
        new("weight_decay", "Weight decay for AdamW if we apply some.",
            (w, a) => w.Double(a.WeightDecay), (a, f) => a with { WeightDecay = f.Double()!.Value }),
        new("adam_beta1", "Beta1 for AdamW optimizer.",
            (w, a) => w.Double(a.AdamBeta1), (a, f) => a with { AdamBeta1 = f.Double()!.Value }),
        new("adam_beta2", "Beta2 for AdamW optimizer.",
            (w, a) => w.Double(a.AdamBeta2), (a, f) => a with { AdamBeta2 = f.Double()!.Value }),
        new("adam_epsilon", "Epsilon for AdamW optimizer.",
            (w, a) => w.Double(a.AdamEpsilon), (a, f) => a with { AdamEpsilon = f.Double()!.Value }),
        new("max_grad_norm", "Max gradient norm.",
            (w, a) => w.Double(a.MaxGradNorm), (a, f) => a with { MaxGradNorm = f.Double()!.Value }),
        new("lr_scheduler_type", "The scheduler type to use.",
            (w, a) => w.String(a.LrSchedulerType.ToPython()), (a, f) => a with { LrSchedulerType = f.Enum<SchedulerType>(TrainingEnumNames.TryParse) }),
        new("lr_scheduler_kwargs", "Extra parameters for the lr_scheduler, as JSON, such as {\"num_cycles\": 1} for the cosine with hard restarts.",
            (w, a) => w.Object(a.LrSchedulerKwargs.OrderBy(p => p.Key, PythonJson.CodePointOrder)
                .Select(p => (p.Key, (Action<PythonJson.Writer>)(w2 => w2.Double(p.Value))))),
            (a, f) => a with { LrSchedulerKwargs = f.NumberMap() }),
        new("warmup_ratio", "Linear warmup over warmup_ratio fraction of total steps.",
            (w, a) => w.Double(a.WarmupRatio), (a, f) => a with { WarmupRatio = f.Double()!.Value }),
        new("warmup_steps", "Linear warmup over warmup_steps.",
            (w, a) => w.Int(a.WarmupSteps), (a, f) => a with { WarmupSteps = f.Int()!.Value }),
        new("label_smoothing_factor", "The label smoothing epsilon to apply (zero means no label smoothing).",
            (w, a) => w.Double(a.LabelSmoothingFactor), (a, f) => a with { LabelSmoothingFactor = f.Double()!.Value }),
        new("gradient_checkpointing", "If True, use gradient checkpointing to save memory at the expense of slower backward pass.",
            (w, a) => w.Bool(a.GradientCheckpointing), (a, f) => a with { GradientCheckpointing = f.Bool() }),
        new("bf16", "Whether to use bf16 (mixed) precision instead of 32-bit. Requires Ampere or higher NVIDIA architecture or a CPU with bf16 support.",
            (w, a) => w.Bool(a.Bf16), (a, f) => a with { Bf16 = f.Bool() }),
        new("fp16", "Whether to use fp16 (mixed) precision instead of 32-bit.",
            (w, a) => w.Bool(a.Fp16), (a, f) => a with { Fp16 = f.Bool() }),
        new("use_cpu", "Whether or not to use cpu. If set to False, we will use the cuda device if available.",
            (w, a) => w.Bool(a.UseCpu), (a, f) => a with { UseCpu = f.Bool() }),
        new("eval_strategy", "The evaluation strategy to use.",
            (w, a) => w.String(a.EvalStrategy.ToPython()), (a, f) => a with { EvalStrategy = f.Enum<IntervalStrategy>(TrainingEnumNames.TryParse) }),
        new("eval_steps", "Run an evaluation every X steps. Should be an integer or a float in range `[0,1)`. If smaller than 1, will be interpreted as ratio of total training steps.",
            (w, a) => WriteSteps(w, a.EvalSteps), (a, f) => a with { EvalSteps = f.Double(nullable: true) }),
        new("prediction_loss_only", "When performing evaluation and predictions, only returns the loss.",
            (w, a) => w.Bool(a.PredictionLossOnly), (a, f) => a with { PredictionLossOnly = f.Bool() }),
        new("include_inputs_for_metrics", "Whether or not the inputs will be passed to the `compute_metrics` function.",
            (w, a) => w.Bool(a.IncludeInputsForMetrics), (a, f) => a with { IncludeInputsForMetrics = f.Bool() }),
        new("load_best_model_at_end", "Whether or not to load the best model found during training at the end of training.",
            (w, a) => w.Bool(a.LoadBestModelAtEnd), (a, f) => a with { LoadBestModelAtEnd = f.Bool() }),
        new("metric_for_best_model", "The metric to use to compare two different models.",
            (w, a) => w.String(a.MetricForBestModel), (a, f) => a with { MetricForBestModel = f.String(nullable: true) }),
        new("greater_is_better", "Whether the `metric_for_best_model` should be maximized or not.",
            (w, a) => WriteBool(w, a.GreaterIsBetter), (a, f) => a with { GreaterIsBetter = f.NullableBool() }),
        new("save_strategy", "The checkpoint save strategy to use.",
            (w, a) => w.String(a.SaveStrategy.ToPython()), (a, f) => a with { SaveStrategy = f.Enum<SaveStrategy>(TrainingEnumNames.TryParse) }),
        new("save_steps", "Save checkpoint every X updates steps. Should be an integer or a float in range `[0,1)`. If smaller than 1, will be interpreted as ratio of total training steps.",
            (w, a) => WriteSteps(w, a.SaveSteps), (a, f) => a with { SaveSteps = f.Double()!.Value }),
        new("save_total_limit", "If a value is passed, will limit the total amount of checkpoints. Deletes the older checkpoints in `output_dir`.",
            (w, a) => w.Int(a.SaveTotalLimit), (a, f) => a with { SaveTotalLimit = f.Int(nullable: true) }),
        new("save_safetensors", "Use safetensors saving and loading for state dicts (the only format this library writes).",
            (w, a) => w.Bool(a.SaveSafetensors), (a, f) => a with { SaveSafetensors = f.Bool() }),
        new("resume_from_checkpoint", "The path to a folder with a valid checkpoint for your model.",
            (w, a) => w.String(a.ResumeFromCheckpoint), (a, f) => a with { ResumeFromCheckpoint = f.String(nullable: true) }),
        new("log_level", "Logger log level to use on the main node: 'debug', 'info', 'warning', 'error' and 'critical', plus a 'passive' level which doesn't set anything and lets the application set the level.",
            (w, a) => w.String(a.LogLevel), (a, f) => a with { LogLevel = f.String(nullable: false)! }),
        new("logging_dir", "Tensorboard log dir.",
            (w, a) => w.String(a.LoggingDir), (a, f) => a with { LoggingDir = f.String(nullable: true) }),
        new("logging_strategy", "The logging strategy to use.",
            (w, a) => w.String(a.LoggingStrategy.ToPython()), (a, f) => a with { LoggingStrategy = f.Enum<IntervalStrategy>(TrainingEnumNames.TryParse) }),
        new("logging_first_step", "Log the first global_step.",
            (w, a) => w.Bool(a.LoggingFirstStep), (a, f) => a with { LoggingFirstStep = f.Bool() }),
        new("logging_steps", "Log every X updates steps. Should be an integer or a float in range `[0,1)`. If smaller than 1, will be interpreted as ratio of total training steps.",
            (w, a) => WriteSteps(w, a.LoggingSteps), (a, f) => a with { LoggingSteps = f.Double()!.Value }),
        new("logging_nan_inf_filter", "Filter nan and inf losses for logging.",
            (w, a) => w.Bool(a.LoggingNanInfFilter), (a, f) => a with { LoggingNanInfFilter = f.Bool() }),
        new("report_to", "The list of integrations to report the results and logs to (this library has none: 'none').",
            (w, a) => WriteList(w, a.ReportTo), (a, f) => a with { ReportTo = f.StringList(nullable: false)! }),
        new("run_name", "An optional descriptor for the run.",
            (w, a) => w.String(a.RunName), (a, f) => a with { RunName = f.String(nullable: true) }),
        new("disable_tqdm", "Whether or not to disable the tqdm progress bars.",
            (w, a) => w.Bool(a.DisableTqdm), (a, f) => a with { DisableTqdm = f.Bool() }),
    ];

    static void WriteList(PythonJson.Writer w, IReadOnlyList<string>? list)
    {
        if (list is null) w.String(null);
        else w.Array(list.Select(s => (Action<PythonJson.Writer>)(w2 => w2.String(s))));
    }

    static void WriteBool(PythonJson.Writer w, bool? value)
    {
        if (value is { } b) w.Bool(b); else w.String(null);
    }

    // HF declares the step intervals as float but they usually hold whole numbers, which Python keeps as int
    // (logging_steps=500 is written 500, a ratio 0.1 as 0.1).
    static void WriteSteps(PythonJson.Writer w, double? value)
    {
        if (value is { } v && v == Math.Floor(v) && Math.Abs(v) < 1e15) w.Long((long)v);
        else w.Double(value);
    }

    /// <summary>
    /// <c>training_args.json</c>: every field under HF's snake_case key, as Python's
    /// <c>json.dumps(args.to_dict(), indent=2, sort_keys=True)</c> writes it (enums as their string values, floats in
    /// Python's form, whole step intervals as integers), with a trailing newline.
    /// </summary>
    public string ToJson()
    {
        var writer = new PythonJson.Writer();
        writer.Object(Fields.OrderBy(f => f.Key, PythonJson.CodePointOrder)
            .Select(f => (f.Key, (Action<PythonJson.Writer>)(w => f.Write(w, this)))));
        return writer.ToString() + "\n";
    }

    /// <summary>
    /// Reads <see cref="ToJson"/>'s output (or HF's <c>to_json_string()</c>). Keys this record does not model (HF
    /// has many more) are ignored; a missing key keeps its default; HF 4.26's "evaluation_strategy" is read as
    /// "eval_strategy" and "no_cuda" as "use_cpu". Does not <see cref="Validate"/>.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="sourcePath">The file it came from, for error messages.</param>
    /// <exception cref="CheckpointException">Invalid JSON, output_dir missing, or a field of the wrong type (the
    /// message and <see cref="CheckpointException.Key"/> name the key).</exception>
    public static TrainingArguments FromJson(string json, string sourcePath)
    {
        ArgumentNullException.ThrowIfNull(json);
        var members = PythonJson.ReadObject(json, sourcePath);
        foreach (var (legacy, current) in LegacyNames)
            if (!members.ContainsKey(current) && members.TryGetValue(legacy, out var old))
                members[current] = old;

        if (!members.TryGetValue("output_dir", out var outputDir))
            throw new CheckpointException(sourcePath, "field 'output_dir' is missing (it is required)", "output_dir");
        var args = new TrainingArguments { OutputDir = Field.Json(sourcePath, "output_dir", outputDir).String(nullable: false)! };
        foreach (var field in Fields)
            if (members.TryGetValue(field.Key, out var value))
                args = field.Read(args, Field.Json(sourcePath, field.Key, value));
        return args;
    }

    /// <summary>Reads <c>training_args.json</c> from a file (see <see cref="FromJson"/>).</summary>
    public static TrainingArguments FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new CheckpointException(path, "training arguments file not found");
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>
    /// One value being read into a field, from one of three sources: a JSON value (<see cref="FromJson"/>), the words
    /// given after <c>--name</c> on a command line (<see cref="WithCommandLineValue"/>, with HF's spellings), or none
    /// (a probe: the reader lambdas of <see cref="Fields"/> run against it to tell which type each field reads, so
    /// the command-line description comes from the same table and is never listed twice).
    /// </summary>
    sealed class Field
    {
        readonly string sourcePath;
        readonly string key;
        readonly JsonElement value;
        readonly IReadOnlyList<string>? words;   // command line
        readonly bool probe;

        Field(string sourcePath, string key, JsonElement value, IReadOnlyList<string>? words, bool probe) =>
            (this.sourcePath, this.key, this.value, this.words, this.probe) = (sourcePath, key, value, words, probe);

        public static Field Json(string sourcePath, string key, JsonElement value) => new(sourcePath, key, value, null, false);
        public static Field Words(string key, IReadOnlyList<string> words) => new("", key, default, words, false);
        public static Field Probe(string key) => new("", key, default, null, true);

        // What a probe saw: the value type (argparse's metavar style), choices, and whether null / several words / no word are allowed.
        public string Type { get; private set; } = "str";
        public IReadOnlyList<string>? Choices { get; private set; }
        public bool AcceptsNone { get; private set; }
        public bool IsList { get; private set; }
        public bool IsFlag { get; private set; }

        CheckpointException TypeError(string expected) =>
            new(sourcePath, $"field '{key}': expected {expected}, got {PythonJson.Describe(value)}", key);

        // argparse's message: "argument --learning_rate: invalid float value: 'abc'".
        ArgumentException WordError(string detail) => new($"argument --{key}: {detail}", key);

        bool IsNull => words is null ? value.ValueKind == JsonValueKind.Null : words.Count == 1 && words[0] == "None";

        string Word()
        {
            if (words!.Count != 1)
                throw WordError(words.Count == 0 ? "expected one argument" : $"expected one argument, got {words.Count}: {string.Join(" ", words)}");
            return words[0];
        }

        void Record(string type, bool nullable, bool isFlag = false, bool isList = false, IReadOnlyList<string>? choices = null) =>
            (Type, AcceptsNone, IsFlag, IsList, Choices) = (type, nullable, isFlag, isList, choices);

        public bool Bool()
        {
            if (probe) { Record("bool", false, isFlag: true); return false; }
            if (words is not null)
            {
                // HfArgumentParser: "--fp16" alone means true; a value is read by string_to_bool.
                if (words.Count == 0) return true;
                return Word().ToLowerInvariant() switch
                {
                    "yes" or "true" or "t" or "y" or "1" => true,
                    "no" or "false" or "f" or "n" or "0" => false,
                    var w => throw WordError($"Truthy value expected: got {w} but expected one of yes/no, true/false, t/f, y/n, 1/0 (case insensitive)."),
                };
            }
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw TypeError("true or false"),
            };
        }

        public bool? NullableBool()
        {
            if (probe) { Record("bool", true, isFlag: true); return null; }
            return IsNull ? null : Bool();
        }

        public string? String(bool nullable)
        {
            if (probe) { Record("str", nullable); return ""; }
            if (nullable && IsNull) return null;
            if (words is not null) return Word();
            return value.ValueKind == JsonValueKind.String ? value.GetString() : throw TypeError(nullable ? "a string or null" : "a string");
        }

        public int? Int(bool nullable = false)
        {
            if (probe) { Record("int", nullable); return 0; }
            if (nullable && IsNull) return null;
            if (words is not null)
                return int.TryParse(Word(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                    ? n : throw WordError($"invalid int value: '{Word()}'");
            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var i)) return i;
            // Python may write a whole float (3.0) where an int is expected; accept it when exact.
            if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && d == Math.Floor(d)
                && d is >= int.MinValue and <= int.MaxValue)
                return (int)d;
            throw TypeError(nullable ? "an integer or null" : "an integer");
        }

        public double? Double(bool nullable = false)
        {
            if (probe) { Record("float", nullable); return 0; }
            if (nullable && IsNull) return null;
            if (words is not null)
                return double.TryParse(Word(), NumberStyles.Float, CultureInfo.InvariantCulture, out var x)
                    ? x : throw WordError($"invalid float value: '{Word()}'");
            return value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d)
                ? d
                : throw TypeError(nullable ? "a number or null" : "a number");
        }

        public T Enum<T>(TryParseEnum<T> tryParse) where T : struct, System.Enum
        {
            var names = System.Enum.GetValues<T>().Select(v => v switch
            {
                IntervalStrategy s => s.ToPython(),
                SaveStrategy s => s.ToPython(),
                SchedulerType s => s.ToPython(),
                _ => v.ToString(),
            }).ToArray();
            if (probe) { Record("{" + string.Join(",", names) + "}", false, choices: names); return default; }
            if (words is not null)
                // HF's values are lower case ("epoch"); "Epoch" or "EPOCH" is accepted too.
                return tryParse(Word().ToLowerInvariant(), out var chosen)
                    ? chosen
                    : throw WordError($"invalid choice: '{Word()}' (choose from {string.Join(", ", names.Select(n => $"'{n}'"))})");
            if (value.ValueKind == JsonValueKind.String && tryParse(value.GetString()!, out var parsed)) return parsed;
            throw TypeError("one of \"" + string.Join("\", \"", names) + "\"");
        }

        public IReadOnlyList<string>? StringList(bool nullable)
        {
            if (probe) { Record("str", nullable, isList: true); return []; }
            if (nullable && IsNull) return null;
            if (words is not null)
                return words.Count > 0 ? words.ToArray() : throw WordError("expected at least one argument");
            // HF accepts report_to as a single string too.
            if (value.ValueKind == JsonValueKind.String) return [value.GetString()!];
            if (value.ValueKind != JsonValueKind.Array) throw TypeError("a list of strings");
            var list = new List<string>();
            foreach (var item in value.EnumerateArray())
                list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw TypeError("a list of strings"));
            return list;
        }

        public IReadOnlyDictionary<string, double> NumberMap()
        {
            if (probe) { Record("json", false); return new Dictionary<string, double>(); }
            if (words is not null)
            {
                // HF takes a dict field on the command line as a JSON string: --lr_scheduler_kwargs '{"num_cycles": 2}'.
                var text = Word();
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    return Json("", key, doc.RootElement.Clone()).NumberMap();
                }
                catch (Exception e) when (e is JsonException or CheckpointException)
                {
                    throw WordError($"expected a JSON object of numbers such as '{{\"num_cycles\": 2}}', got '{text}'");
                }
            }
            if (IsNull) return new Dictionary<string, double>();
            if (value.ValueKind != JsonValueKind.Object) throw TypeError("an object of numbers");
            var map = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var p in value.EnumerateObject())
                map[p.Name] = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : throw TypeError("an object of numbers");
            return map;
        }
    }

    delegate bool TryParseEnum<T>(string name, out T value);

    // ---- Command line ------------------------------------------------------------------------------------------

    /// <summary>HF's older names of renamed fields (old → current): "evaluation_strategy" (HF up to 4.40) →
    /// "eval_strategy", "no_cuda" → "use_cpu". <see cref="FromJson"/> reads them and <see cref="WithCommandLineValue"/>
    /// accepts them.</summary>
    public static IReadOnlyDictionary<string, string> LegacyNames { get; } = new ReadOnlyDictionary<string, string>(
        new Dictionary<string, string>(StringComparer.Ordinal) { ["evaluation_strategy"] = "eval_strategy", ["no_cuda"] = "use_cpu" });

    /// <summary>One field as HF's <c>HfArgumentParser</c> offers it on a command line, <c>--{Name}</c>.</summary>
    /// <param name="Name">HF's snake_case name, e.g. "learning_rate" (also the training_args.json key).</param>
    /// <param name="Help">HF's help text for the field.</param>
    /// <param name="Type">What the value is: "bool", "int", "float", "str", "json" (an object), or the choices as
    /// argparse writes them, "{no,steps,epoch}".</param>
    /// <param name="Choices">The values an enum field takes; null for other fields.</param>
    /// <param name="IsFlag">A bool field: <c>--name</c> alone means true; <c>--name False</c> (or no/false/f/n/0, any
    /// case) sets false, as HF's <c>string_to_bool</c> reads it.</param>
    /// <param name="IsList">Takes one or more words: <c>--report_to none</c>, <c>--label_names labels extra</c>.</param>
    /// <param name="AcceptsNone">The field may be null, written <c>None</c>.</param>
    /// <param name="Default">The default as Python prints it: "5e-05", "steps", "None", "False", "none"; "" for
    /// output_dir, which has none.</param>
    public sealed record CommandLineField(string Name, string Help, string Type, IReadOnlyList<string>? Choices,
        bool IsFlag, bool IsList, bool AcceptsNone, string Default);

    static readonly Lazy<IReadOnlyList<CommandLineField>> commandLineFields = new(() =>
    {
        var defaults = new TrainingArguments { OutputDir = "" };
        return new ReadOnlyCollection<CommandLineField>(Fields.Select(f =>
        {
            var probe = Field.Probe(f.Key);
            f.Read(defaults, probe);
            return new CommandLineField(f.Key, f.Help, probe.Type, probe.Choices, probe.IsFlag, probe.IsList, probe.AcceptsNone,
                defaults.CommandLineValue(f.Key));
        }).ToArray());
    });

    /// <summary>Every field in HF's order (the order of HF's <c>--help</c> groups here), described for a command-line
    /// parser: a program such as <c>finetune</c> turns each into <c>--name</c> and reads it with
    /// <see cref="WithCommandLineValue"/>.</summary>
    public static IReadOnlyList<CommandLineField> CommandLineFields => commandLineFields.Value;

    /// <summary>
    /// A copy with field <paramref name="name"/> set from the words that followed <c>--name</c> on a command line,
    /// read as HF's <c>HfArgumentParser</c> reads them: bools as <c>True</c>/<c>False</c> (yes/no, t/f, y/n, 1/0, any
    /// case; no word means true), numbers in Python's form (<c>5e-5</c>), enums by their values (<c>epoch</c>,
    /// <c>steps</c>, any case), <c>None</c> for a nullable field, lists as several words, lr_scheduler_kwargs as JSON.
    /// <see cref="LegacyNames"/> are accepted. Does not <see cref="Validate"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name, or a value that does not parse; the message is argparse's,
    /// e.g. "argument --learning_rate: invalid float value: 'fast'", and <see cref="ArgumentException.ParamName"/>
    /// the field's name.</exception>
    public TrainingArguments WithCommandLineValue(string name, IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(words);
        var key = LegacyNames.GetValueOrDefault(name, name);
        var field = Fields.FirstOrDefault(f => f.Key == key)
            ?? throw new ArgumentException($"unrecognized training argument: --{name}", nameof(name));
        return field.Read(this, Field.Words(key, words));
    }

    /// <summary>The value of field <paramref name="name"/> as Python prints it, for help texts and summaries:
    /// "5e-05", "epoch", "None", "True", a list as its words separated by spaces, lr_scheduler_kwargs as JSON.</summary>
    public string CommandLineValue(string name)
    {
        var field = Fields.FirstOrDefault(f => f.Key == name)
            ?? throw new ArgumentException($"unknown training argument '{name}'", nameof(name));
        var writer = new PythonJson.Writer();
        field.Write(writer, this);
        using var doc = JsonDocument.Parse(writer.ToString());
        var e = doc.RootElement;
        return e.ValueKind switch
        {
            JsonValueKind.String => e.GetString()!,
            JsonValueKind.True => "True",
            JsonValueKind.False => "False",
            JsonValueKind.Null => "None",
            JsonValueKind.Array => string.Join(" ", e.EnumerateArray().Select(x => x.GetString())),
            JsonValueKind.Object => e.GetRawText().Replace("\n", "").Replace("  ", ""),
            _ => e.GetRawText(),
        };
    }


    // ---- Equality ----------------------------------------------------------------------------------------------

    /// <summary>Equal when every field is: compares the <see cref="ToJson"/> forms (which hold every field, floats
    /// in round-trip form), so lists and maps compare by content.</summary>
    public bool Equals(TrainingArguments? other) =>
        other is not null && (ReferenceEquals(this, other) || string.Equals(ToJson(), other.ToJson(), StringComparison.Ordinal));

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToJson());
}
