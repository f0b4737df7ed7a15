namespace FineTuning.FineTune;

/// <summary>A problem the user can fix (a missing file, a column that is not there, an output folder in the way):
/// printed as "error: message" with exit code 1, without a stack trace.</summary>
public sealed class FineTuneException(string message, Exception? inner = null) : Exception(message, inner);
