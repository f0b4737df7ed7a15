using static TorchSharp.torch;

namespace FineTuning.Peft;

/// <summary>PEFT's <c>get_peft_model</c> (<c>from peft import get_peft_model</c>; here <c>using static FineTuning.Peft.PeftMapping;</c>).</summary>
public static class PeftMapping
{
    /// <summary>
    /// PEFT's <c>get_peft_model(model, peft_config)</c>: adapts <paramref name="model"/> in place — every Linear named
    /// by <see cref="LoraConfig.TargetModules"/> becomes a <see cref="LoraLinear"/>, the modules to save are wrapped,
    /// everything else is frozen — and returns the PEFT model of the config's task type:
    /// <see cref="PeftModelForSequenceClassification"/> for SEQ_CLS, <see cref="PeftModel"/> for none.
    /// </summary>
    /// <exception cref="ArgumentException">The config is invalid, or no module matches its target modules.</exception>
    /// <exception cref="NotSupportedException">A task type other than SEQ_CLS.</exception>
    public static PeftModel GetPeftModel(nn.Module model, LoraConfig peftConfig)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(peftConfig);
        return peftConfig.TaskType switch
        {
            null => new PeftModel(model, peftConfig),
            TaskType.SEQ_CLS => new PeftModelForSequenceClassification(model, peftConfig),
            var other => throw new NotSupportedException($"task_type {other}: this library has sequence-classification models only "
                + "(use TaskType.SEQ_CLS, or null for a plain PeftModel)."),
        };
    }
}
