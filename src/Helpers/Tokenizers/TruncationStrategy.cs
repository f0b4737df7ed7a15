namespace FineTuning.Tokenizers;

/// <summary>HF <c>TruncationStrategy</c>. The maximum length counts the special tokens.</summary>
public enum TruncationStrategy
{
    /// <summary>"longest_first": remove one token at a time from the longer sequence (the second on a tie).</summary>
    LongestFirst,
    /// <summary>"only_first": remove tokens from the end of the first sequence only.</summary>
    OnlyFirst,
    /// <summary>"only_second": remove tokens from the end of the second sequence only.</summary>
    OnlySecond,
    /// <summary>"do_not_truncate".</summary>
    DoNotTruncate,
}
