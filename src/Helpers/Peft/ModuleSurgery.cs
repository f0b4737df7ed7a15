using System.Reflection;
using static TorchSharp.torch;

namespace FineTuning.Peft;

/// <summary>
/// PyTorch's <c>module.get_submodule(path)</c>, <c>setattr(parent, name, module)</c> and <c>named_modules()</c> order
/// for TorchSharp modules, which PEFT uses to swap a Linear for a LoRA layer in place.
/// </summary>
/// <remarks>
/// A TorchSharp module keeps its children twice: in a field (what <c>forward</c> calls) and in its registered
/// submodules (what <c>named_parameters</c>, <c>state_dict</c>, <c>to(device)</c> and <c>train()</c> walk), both under
/// the field's name. Replacing a child therefore sets the field and re-registers the child under the same name at the
/// same position, so parameter order (and with it state-dict and optimizer order) stays PyTorch's.
/// </remarks>
public static class ModuleSurgery
{
    /// <summary>PyTorch's <c>get_submodule("bert.encoder.layer.0")</c>; "" is <paramref name="root"/> itself.</summary>
    /// <exception cref="ArgumentException">No submodule has that path.</exception>
    public static nn.Module GetSubmodule(nn.Module root, string path)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(path);
        var module = root;
        if (path.Length == 0) return module;
        foreach (var part in path.Split('.'))
        {
            var next = module.named_children().FirstOrDefault(c => c.name == part).module;
            module = next ?? throw new ArgumentException($"{module.GetType().Name} has no attribute `{part}` (looking up '{path}')", nameof(path));
        }
        return module;
    }

    /// <summary>
    /// PyTorch's <c>named_modules()</c> order: depth first, each module before its children (TorchSharp's own
    /// <c>named_modules()</c> lists all direct children before any grandchild). Excludes <paramref name="root"/>.
    /// PEFT visits modules in this order, so LoRA layers are created, and draw their random numbers, in this order.
    /// </summary>
    public static IEnumerable<(string Name, nn.Module Module)> NamedModulesPreOrder(nn.Module root, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(root);
        foreach (var (name, child) in root.named_children().ToList())
        {
            var full = prefix.Length == 0 ? name : $"{prefix}.{name}";
            yield return (full, child);
            foreach (var descendant in NamedModulesPreOrder(child, full)) yield return descendant;
        }
    }

    /// <summary>
    /// PyTorch's <c>set_submodule(path, module)</c>: replaces the registered child at <paramref name="path"/>
    /// (e.g. <c>bert.encoder.layer.0.attention.self.query</c>) with <paramref name="replacement"/>, keeping its
    /// name and position. The parent must hold the child in a field of that name whose type accepts the replacement
    /// (BERT's Linear fields are typed <c>nn.Module&lt;Tensor, Tensor&gt;</c> for this).
    /// </summary>
    /// <returns>The module that was replaced.</returns>
    /// <exception cref="ArgumentException">No submodule has that path.</exception>
    /// <exception cref="InvalidOperationException">The parent keeps the child elsewhere than in a same-named field
    /// (e.g. in a ModuleList), or the field's type cannot hold the replacement.</exception>
    public static nn.Module SetSubmodule(nn.Module root, string path, nn.Module replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        var cut = path.LastIndexOf('.');
        var parent = GetSubmodule(root, cut < 0 ? "" : path[..cut]);
        var name = path[(cut + 1)..];

        var children = parent.named_children().ToList();
        var index = children.FindIndex(c => c.name == name);
        if (index < 0) throw new ArgumentException($"{parent.GetType().Name} has no submodule '{name}' (path '{path}')", nameof(path));
        var old = children[index].module;

        var field = FindField(parent.GetType(), name)
            ?? throw new InvalidOperationException($"{parent.GetType().Name}.{name} is not a field, so it cannot be replaced (path '{path}')");
        if (!ReferenceEquals(field.GetValue(parent), old))
            throw new InvalidOperationException($"{parent.GetType().Name}.{name}: the field and the registered submodule differ (path '{path}')");
        if (!field.FieldType.IsInstanceOfType(replacement))
            throw new InvalidOperationException($"{parent.GetType().Name}.{name} is declared as {field.FieldType.Name} and cannot hold a "
                + $"{replacement.GetType().Name} (path '{path}')");
        field.SetValue(parent, replacement);

        // register_module appends and refuses a taken name: take the child and every later one off, then put them
        // back in their order with the replacement in place.
        for (var i = index; i < children.Count; i++) parent.register_module(children[i].name, null!);
        for (var i = index; i < children.Count; i++) parent.register_module(children[i].name, i == index ? replacement : children[i].module);
        return old;
    }

    static FieldInfo? FindField(Type type, string name)
    {
        for (var t = type; t is not null && t != typeof(nn.Module); t = t.BaseType)
        {
            var field = t.GetField(name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);
            if (field is not null) return field;
        }
        return null;
    }
}
