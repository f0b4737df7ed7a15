using System.Text.Json;

namespace FineTuning.Tokenizers;

/// <summary>
/// HF <c>AutoTokenizer.from_pretrained</c> for a local folder: picks the tokenizer from tokenizer_config.json's
/// <c>tokenizer_class</c>, else config.json's <c>model_type</c>, else assumes BERT when vocab.txt is present.
/// Only BERT is supported; anything else raises <see cref="CheckpointException"/>. No network.
/// </summary>
public static class AutoTokenizer
{
    static readonly string[] BertClasses = ["BertTokenizer", "BertTokenizerFast"];

    public static BertTokenizer FromPretrained(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, "tokenizer folder not found");

        var tokenizerConfig = Path.Combine(folder, BertTokenizer.TokenizerConfigFile);
        if (TokenizerJson.ReadObject(tokenizerConfig) is { } tc && tc.TryGetProperty("tokenizer_class", out var cls) && cls.ValueKind != JsonValueKind.Null)
        {
            if (cls.ValueKind != JsonValueKind.String)
                throw new CheckpointException(tokenizerConfig, $"field 'tokenizer_class' must be a string, found {cls.GetRawText()}", "tokenizer_class");
            var name = cls.GetString()!;
            if (!BertClasses.Contains(name))
                throw new CheckpointException(tokenizerConfig, $"tokenizer_class \"{name}\" is not supported (supported: {string.Join(", ", BertClasses)})", "tokenizer_class");
            return BertTokenizer.FromPretrained(folder);
        }

        var config = Path.Combine(folder, "config.json");
        if (TokenizerJson.ReadObject(config) is { } c && c.TryGetProperty("model_type", out var type))
        {
            if (type.ValueKind != JsonValueKind.String)
                throw new CheckpointException(config, $"field 'model_type' must be a string, found {type.GetRawText()}", "model_type");
            if (type.GetString() != "bert")
                throw new CheckpointException(config, $"model_type \"{type.GetString()}\" has no supported tokenizer (supported: bert)", "model_type");
            return BertTokenizer.FromPretrained(folder);
        }

        if (File.Exists(Path.Combine(folder, BertTokenizer.VocabFile))) return BertTokenizer.FromPretrained(folder);
        throw new CheckpointException(folder, "cannot tell which tokenizer this folder holds: no tokenizer_config.json tokenizer_class, no config.json model_type, no vocab.txt");
    }
}
