namespace FineTuning.Peft;

/// <summary>
/// PEFT's <c>TaskType</c>: the <c>task_type</c> values of a PEFT config. It picks the PEFT model class —
/// <see cref="SEQ_CLS"/> gives a <see cref="PeftModelForSequenceClassification"/>, which also makes the
/// classifier trainable; null gives a plain <see cref="PeftModel"/>. This library has sequence-classification models
/// only, so the other values are recognised (and kept in adapter_config.json) but refused by
/// <see cref="PeftMapping.GetPeftModel"/>.
/// </summary>
public static class TaskType
{
    // PEFT's names, as Python users write them (TaskType.SEQ_CLS).
    public const string SEQ_CLS = "SEQ_CLS";
    public const string SEQ_2_SEQ_LM = "SEQ_2_SEQ_LM";
    public const string CAUSAL_LM = "CAUSAL_LM";
    public const string TOKEN_CLS = "TOKEN_CLS";
    public const string QUESTION_ANS = "QUESTION_ANS";
    public const string FEATURE_EXTRACTION = "FEATURE_EXTRACTION";

    /// <summary>Every value PEFT accepts, in PEFT's order.</summary>
    public static IReadOnlyList<string> All { get; } = [SEQ_CLS, SEQ_2_SEQ_LM, CAUSAL_LM, TOKEN_CLS, QUESTION_ANS, FEATURE_EXTRACTION];
}
