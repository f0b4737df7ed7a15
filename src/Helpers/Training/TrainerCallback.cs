namespace FineTuning.Training;

/// <summary>
/// HF <c>TrainerCallback</c>: override the events you need. Every event gets the arguments, the live
/// <see cref="TrainerState"/> (read it) and the <see cref="TrainerControl"/> (set its flags to steer the loop).
/// Events run in the order the callbacks were given to the Trainer, after the built-in <see cref="DefaultFlowCallback"/>.
/// </summary>
public abstract class TrainerCallback
{
    /// <summary>At the end of the Trainer's constructor.</summary>
    public virtual void OnInitEnd(TrainingArguments args, TrainerState state, TrainerControl control) { }

    /// <summary>Before the first training step (after resuming, if resuming).</summary>
    public virtual void OnTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control) { }

    /// <summary>After the last step, after loading the best model (LoadBestModelAtEnd) and the final log.</summary>
    public virtual void OnTrainEnd(TrainingArguments args, TrainerState state, TrainerControl control) { }

    /// <summary>At the start of every epoch.</summary>
    public virtual void OnEpochBegin(TrainingArguments args, TrainerState state, TrainerControl control) { }

    /// <summary>At the end of every epoch, before the epoch's log / evaluate / save.</summary>
    public virtual void OnEpochEnd(TrainingArguments args, TrainerState state, TrainerControl control) { }

    /// <summary>Before each optimizer step's first forward (with gradient accumulation: once per optimizer step).</summary>
    public virtual void OnStepBegin(TrainingArguments args, TrainerState state, TrainerControl control) { }

    /// <summary>After a forward/backward that was not followed by an optimizer step (gradient accumulation).</summary>
    public virtual void OnSubstepEnd(TrainingArguments args, TrainerState state, TrainerControl control) { }

    /// <summary>After each optimizer step (<see cref="TrainerState.GlobalStep"/> already advanced), before this step's
    /// log / evaluate / save.</summary>
    public virtual void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control) { }

    /// <summary>After an evaluation, with its metrics (eval_loss, eval_accuracy, eval_runtime, ...).</summary>
    public virtual void OnEvaluate(TrainingArguments args, TrainerState state, TrainerControl control,
                                   IReadOnlyDictionary<string, double> metrics) { }

    /// <summary>After <see cref="Trainer.Predict"/>, with its metrics (test_loss, ...).</summary>
    public virtual void OnPredict(TrainingArguments args, TrainerState state, TrainerControl control,
                                  IReadOnlyDictionary<string, double> metrics) { }

    /// <summary>After a checkpoint was written (its folder is the last <c>checkpoint-N</c> under OutputDir).</summary>
    public virtual void OnSave(TrainingArguments args, TrainerState state, TrainerControl control) { }

    /// <summary>After an entry was appended to <see cref="TrainerState.LogHistory"/>: <paramref name="logs"/> is that entry
    /// without "step" (loss, grad_norm, learning_rate, epoch; or eval_* ; or the final train_* summary).</summary>
    public virtual void OnLog(TrainingArguments args, TrainerState state, TrainerControl control,
                              IReadOnlyDictionary<string, double> logs) { }

    /// <summary>After each evaluation / prediction batch. <paramref name="evalBatchCount"/> is the number of batches
    /// of this evaluation (HF's <c>len(eval_dataloader)</c>, which HF passes in its keyword arguments); null when unknown,
    /// and progress displays then show no evaluation bar, as HF does without <c>has_length(eval_dataloader)</c>.</summary>
    public virtual void OnPredictionStep(TrainingArguments args, TrainerState state, TrainerControl control,
                                         int? evalBatchCount = null) { }
}
