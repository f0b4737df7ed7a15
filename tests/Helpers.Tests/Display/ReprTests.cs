using System.Collections;
using FineTuning.Charts;
using FineTuning.Data;
using FineTuning.Display;
using FineTuning.Models;
using FineTuning.Tokenizers;
using FineTuning.Training;
using Microsoft.DotNet.Interactive.Formatting;

namespace FineTuning.Tests.Display;

/// <summary>The library's objects in a notebook: HTML and plain text (Repr), and the kernel's formatter using them
/// once FineTuning.Interactive registered them.</summary>
[Collection(nameof(FineTuning.Tests.Charts.PlotlyJsTests))]   // a figure's HTML uses the process-wide plotly.js state
public class ReprTests
{
    static Dataset Pairs(int rows) => Dataset.FromColumns(
        new Dictionary<string, IList>
        {
            ["sentence1"] = Enumerable.Range(0, rows).Select(i => $"first <{i}>").ToList(),
            ["label"] = Enumerable.Range(0, rows).Select(i => (long)(i % 2)).ToList(),
        },
        new Features(("sentence1", new Value("string")), ("label", new ClassLabel("not_equivalent", "equivalent"))));

    static BertTokenizer Tokenizer() =>
        new(Vocabulary.FromLines(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "un", "##aff", "##able"]));

    [Fact]
    public void A_dataset_shows_its_features_num_rows_and_first_rows()
    {
        var html = Repr.Html(Pairs(8))!;
        Assert.Contains("<b>Dataset</b>: 8 rows (num_rows)", html);
        Assert.Contains("<td>label</td><td><code>ClassLabel(names=[&#39;not_equivalent&#39;, &#39;equivalent&#39;], id=None)</code></td>", html);
        Assert.Contains("<td>first &lt;0&gt;</td><td>0 (not_equivalent)</td>", html);   // escaped, with the class name
        Assert.Contains("<td>first &lt;4&gt;</td>", html);
        Assert.DoesNotContain("first &lt;5&gt;", html);                                  // the first 5 rows
        Assert.Contains("… 3 more rows", html);
        Assert.Equal("Dataset({\n    features: ['sentence1', 'label'],\n    num_rows: 8\n})", Repr.PlainText(Pairs(8)));
    }

    [Fact]
    public void A_dataset_dict_shows_each_split_and_the_first_rows_of_the_first()
    {
        var dict = new DatasetDict([new("train", Pairs(6)), new("validation", Pairs(2))]);
        var html = Repr.Html(dict)!;
        Assert.Contains("<tr><td>train</td><td style=\"text-align:right\">6</td><td>sentence1, label</td></tr>", html);
        Assert.Contains("<tr><td>validation</td><td style=\"text-align:right\">2</td>", html);
        Assert.Contains("train, the first rows:", html);
        Assert.StartsWith("DatasetDict({\n    train: Dataset({", Repr.PlainText(dict));
    }

    [Fact]
    public void An_encoding_aligns_tokens_with_ids_and_token_type_ids()
    {
        var encoding = Tokenizer().Encode("hello unaffable", "world");
        Assert.Equal(["[CLS]", "hello", "un", "##aff", "##able", "[SEP]", "world", "[SEP]"], encoding.Tokens);
        var html = Repr.Html(encoding)!;
        Assert.Contains("<tr><th>tokens</th><td><code>[CLS]</code></td><td><code>hello</code></td><td><code>un</code></td>", html);
        Assert.Contains("<tr><th>input_ids</th><td>2</td><td>5</td><td>7</td><td>8</td><td>9</td><td>3</td><td>6</td><td>3</td></tr>", html);
        Assert.Contains("<tr><th>token_type_ids</th><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1</td><td>1</td></tr>", html);
        Assert.Equal("{'input_ids': [2, 5, 7, 8, 9, 3, 6, 3], 'token_type_ids': [0, 0, 0, 0, 0, 0, 1, 1], 'attention_mask': [1, 1, 1, 1, 1, 1, 1, 1]}",
            Repr.PlainText(encoding));
        Assert.Null(new Encoding([1], [0], [1]).Tokens);   // not made by a tokenizer: no tokens row
        Assert.DoesNotContain("tokens", Repr.Html(new Encoding([1], [0], [1])));
    }

    [Fact]
    public void A_batch_encoding_shows_each_example_with_its_padding()
    {
        var batch = Tokenizer().Call(["hello", "hello world world"], padding: Padding.Longest);
        Assert.Equal(["[CLS]", "hello", "[SEP]", "[PAD]", "[PAD]"], batch.Tokens(0));
        var html = Repr.Html(batch)!;
        Assert.Contains("<b>BatchEncoding</b>: 2 examples", html);
        Assert.Contains("<tr><th>attention_mask</th><td>1</td><td>1</td><td>1</td><td>0</td><td>0</td></tr>", html);
        Assert.Equal("{'input_ids': [[2, 5, 3, 0, 0], [2, 5, 6, 6, 3]], 'token_type_ids': [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], 'attention_mask': [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]}",
            Repr.PlainText(batch));
    }

    static LoadingReport HeadSwap => new()
    {
        ModelPath = "bert-base-uncased",
        ModelClass = "BertForSequenceClassification",
        MissingKeys = ["classifier.bias", "classifier.weight"],
        UnexpectedKeys = ["cls.predictions.bias"],
        Shapes = new Dictionary<string, long[]> { ["classifier.weight"] = [2, 768], ["classifier.bias"] = [2], ["cls.predictions.bias"] = [30522] },
        LoadedKeys = ["bert.embeddings.word_embeddings.weight", "bert.pooler.dense.weight"],
    };

    [Fact]
    public void The_loading_report_lists_dropped_and_added_weights_with_shapes()
    {
        var html = Repr.Html(HeadSwap)!;
        Assert.Contains("<tr><td>dropped</td><td><code>cls.predictions.bias</code></td><td>(30522)</td>", html);
        Assert.Contains("<tr><td>added</td><td><code>classifier.weight</code></td><td>(2, 768)</td><td>new, randomly initialised: train it</td></tr>", html);
        Assert.True(html.IndexOf("classifier.bias", StringComparison.Ordinal) < html.IndexOf("classifier.weight", StringComparison.Ordinal));
        Assert.Contains("2 tensors were loaded from the checkpoint unchanged.", html);
        var text = Repr.PlainText(HeadSwap)!;
        Assert.StartsWith("Some weights of the model checkpoint at bert-base-uncased were not used when initializing BertForSequenceClassification: ['cls.predictions.bias']", text);
        Assert.EndsWith("2 tensors loaded from the checkpoint.", text);
    }

    static List<IReadOnlyDictionary<string, double>> History =>
    [
        new Dictionary<string, double> { ["loss"] = 0.6931, ["grad_norm"] = 1.5, ["learning_rate"] = 2.5e-5, ["epoch"] = 0.5, ["step"] = 1 },
        new Dictionary<string, double> { ["eval_loss"] = 0.65, ["eval_accuracy"] = 0.75, ["epoch"] = 1.0, ["step"] = 2 },
    ];

    [Fact]
    public void The_log_history_is_a_table_with_a_column_per_key()
    {
        var html = Repr.Html(History)!;
        Assert.Contains("<thead><tr><th></th><th>step</th><th>epoch</th><th>loss</th><th>grad_norm</th><th>learning_rate</th><th>eval_loss</th><th>eval_accuracy</th></tr></thead>", html);
        Assert.Contains("<tr><th>0</th><td style=\"text-align:right\">1</td><td style=\"text-align:right\">0.5</td><td style=\"text-align:right\">0.6931</td>", html);
        Assert.Contains("<td style=\"text-align:right\">2.5e-05</td><td style=\"text-align:right\"></td>", html);   // Python's float repr; absent = empty
        var lines = Repr.PlainText(History)!.Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("step  epoch    loss  grad_norm  learning_rate  eval_loss  eval_accuracy", lines[0]);
    }

    [Fact]
    public void Train_and_prediction_outputs_show_their_metrics()
    {
        var train = new TrainOutput(12, 0.5432, new Dictionary<string, double> { ["train_runtime"] = 3.5, ["epoch"] = 2.0 });
        Assert.Contains("TrainOutput(global_step=12, training_loss=0.5432)", Repr.Html(train));
        Assert.Contains("<th>train_runtime</th><th>epoch</th>", Repr.Html(train));
        Assert.Equal("TrainOutput(global_step=12, training_loss=0.5432, metrics={'train_runtime': 3.5, 'epoch': 2.0})", Repr.PlainText(train));
        var prediction = new PredictionOutput(new float[4, 2], [0, 1, 1, 0], new Dictionary<string, double> { ["test_accuracy"] = 0.75 });
        Assert.Contains("PredictionOutput: predictions of shape (4, 2), 4 label ids", Repr.Html(prediction));
        Assert.Contains("<td style=\"text-align:right\">0.75</td>", Repr.Html(prediction));
    }

    [Fact]
    public void Other_values_are_left_to_the_kernel()
    {
        Assert.Null(Repr.Html("text"));
        Assert.Null(Repr.PlainText(new Dictionary<string, double>()));
    }

    [Fact]
    public void Once_registered_the_kernels_formatter_shows_the_objects_as_html_and_text()
    {
        FineTuning.Interactive.Formatters.Register();
        FineTuning.Interactive.Formatters.Register();   // twice: no change
        Assert.Equal(Repr.Html(Pairs(3)), Pairs(3).ToDisplayString("text/html"));
        Assert.Equal(Repr.PlainText(Pairs(3)), Pairs(3).ToDisplayString("text/plain"));
        Assert.Equal(Repr.Html(HeadSwap), HeadSwap.ToDisplayString("text/html"));
        Assert.Equal(Repr.Html(History), History.ToDisplayString("text/html"));
        var encoding = Tokenizer().Encode("hello", "world");
        Assert.Contains("<tr><th>tokens</th>", encoding.ToDisplayString("text/html"));
        var chart = Chart.Column(["a"], [1.0], "n").WithXAxis("split");
        Assert.Contains("Plotly.newPlot('ft-chart-", chart.ToDisplayString("text/html"));
        Assert.Equal(chart.Summary(), chart.ToDisplayString("text/plain"));
        Assert.Equal(["text/html", "text/plain"], Formatter.GetPreferredMimeTypesFor(typeof(Dataset)));
    }
}
