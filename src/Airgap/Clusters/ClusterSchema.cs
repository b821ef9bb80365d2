using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Airgap.Clusters;

/// <summary>One field of cluster.yaml as the types declare it: name, type, default, allowed values, meaning.</summary>
public sealed record ConfigField(
    string Path,
    string Name,
    PropertyInfo Property,
    string Type,
    string? Default,
    string Description,
    IReadOnlyList<string> Allowed,
    RangeAttribute? Range,
    bool Required,
    IReadOnlyList<ConfigField> Fields);

/// <summary>
/// cluster.yaml's reference, read off <see cref="ClusterConfig"/> and its attributes — the one place
/// where fields are declared and described: the JSON schema (`airgap cluster init-config --schema`, for
/// editors), the reference page (docs/cluster-yaml.md) and the checks of allowed values and ranges
/// all come from it, so none of them can fall behind the code that reads the file.
/// </summary>
public static class ClusterSchema
{
    public static IReadOnlyList<ConfigField> Fields { get; } = FieldsOf(typeof(ClusterConfig), "");

    /// <summary>Every field, depth first, objects before their fields.</summary>
    public static IEnumerable<ConfigField> All(IEnumerable<ConfigField>? fields = null) =>
        (fields ?? Fields).SelectMany(f => new[] { f }.Concat(All(f.Fields)));

    private static IReadOnlyList<ConfigField> FieldsOf(Type type, string prefix)
    {
        var defaults = Activator.CreateInstance(type)!;
        var fields = new List<ConfigField>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<YamlIgnoreAttribute>() is not null || !property.CanWrite) continue;
            var name = CamelCaseNamingConvention.Instance.Apply(property.Name);
            var path = prefix + name;
            var description = property.GetCustomAttribute<DescriptionAttribute>()?.Description
                ?? throw new InvalidOperationException($"{type.Name}.{property.Name} has no [Description]: every cluster.yaml field is documented");
            var kind = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var element = kind.IsGenericType && kind.GetGenericTypeDefinition() == typeof(List<>) ? kind.GetGenericArguments()[0] : null;
            var nested = element is not null && element != typeof(string) ? FieldsOf(element, path + "[].")
                : element is null && IsObject(kind) ? FieldsOf(kind, path + ".")
                : [];
            fields.Add(new ConfigField(path, name, property,
                Type: element is null ? TypeName(kind) : $"list of {TypeName(element)}s",
                Default: DefaultText(property.GetValue(defaults)),
                description,
                property.GetCustomAttribute<AllowedValuesAttribute>()?.Values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)!).ToList() ?? [],
                property.GetCustomAttribute<RangeAttribute>(),
                property.GetCustomAttribute<RequiredAttribute>() is not null,
                nested));
        }
        return fields;
    }

    private static bool IsObject(Type type) => type.IsClass && type != typeof(string);

    private static string TypeName(Type type) =>
        type == typeof(string) ? "string" : type == typeof(int) ? "integer" : type == typeof(bool) ? "boolean"
        : IsObject(type) ? "object" : throw new InvalidOperationException($"cluster.yaml has no type name for {type.Name}");

    private static string? DefaultText(object? value) => value switch
    {
        null => null,
        string s => s.Length == 0 ? null : s,
        bool b => b ? "true" : "false",
        int i => i.ToString(CultureInfo.InvariantCulture),
        IList { Count: 0 } => "[]",
        _ => null,
    };

    /// <summary>Values outside what the attributes allow, each as one line naming the field and the choices.</summary>
    public static IEnumerable<string> Violations(object config) => Violations(config, Fields, "");

    private static IEnumerable<string> Violations(object target, IReadOnlyList<ConfigField> fields, string prefix)
    {
        foreach (var field in fields)
        {
            var value = field.Property.GetValue(target);
            var path = prefix + field.Name;
            if (value is null) continue;
            if (field.Allowed.Count > 0 && !field.Allowed.Contains(value as string ?? ""))
                yield return $"{path} \"{value}\" is not known; use {string.Join(" or ", field.Allowed)}";
            if (field.Range is { } range && !range.IsValid(value))
                yield return $"{path} {value} is not in {range.Minimum}..{range.Maximum}";
            if (field.Fields.Count == 0) continue;
            if (value is IList list)
            {
                for (var i = 0; i < list.Count; i++)
                    foreach (var v in Violations(list[i]!, field.Fields, $"{path}[{i}]."))
                        yield return v;
            }
            else
            {
                foreach (var v in Violations(value, field.Fields, path + "."))
                    yield return v;
            }
        }
    }

    /// <summary>A JSON schema (draft 2020-12) of cluster.yaml, for editors that check YAML against one.</summary>
    public static string JsonSchema()
    {
        var root = ObjectSchema(Fields);
        root.Insert(0, "$schema", "https://json-schema.org/draft/2020-12/schema");
        root.Insert(1, "title", "airgap cluster.yaml");
        root.Insert(2, "description", "A whole kubeadm cluster for airgap cluster deploy|status|reset; airgap cluster init-config prints a commented example.");
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static JsonObject ObjectSchema(IReadOnlyList<ConfigField> fields)
    {
        var properties = new JsonObject();
        foreach (var f in fields) properties[f.Name] = FieldSchema(f);
        var schema = new JsonObject { ["type"] = "object", ["additionalProperties"] = false, ["properties"] = properties };
        var required = fields.Where(f => f.Required).Select(f => (JsonNode)f.Name).ToArray();
        if (required.Length > 0) schema["required"] = new JsonArray(required);
        return schema;
    }

    private static JsonObject FieldSchema(ConfigField f)
    {
        var kind = Nullable.GetUnderlyingType(f.Property.PropertyType) ?? f.Property.PropertyType;
        JsonObject schema;
        if (f.Type.StartsWith("list of ", StringComparison.Ordinal))
            schema = new JsonObject { ["type"] = "array", ["items"] = f.Fields.Count > 0 ? ObjectSchema(f.Fields) : new JsonObject { ["type"] = "string" } };
        else if (f.Fields.Count > 0)
            schema = ObjectSchema(f.Fields);
        else
            schema = new JsonObject { ["type"] = f.Type };
        if (Nullable.GetUnderlyingType(f.Property.PropertyType) is not null || (kind == typeof(string) && f.Default is null && !f.Required))
            schema["type"] = new JsonArray(schema["type"]!.DeepClone(), "null");
        schema.Insert(0, "description", f.Description);
        if (f.Allowed.Count > 0) schema["enum"] = new JsonArray([.. f.Allowed.Select(v => (JsonNode)v)]);
        if (f.Range is { } range)
        {
            schema["minimum"] = Convert.ToInt64(range.Minimum, CultureInfo.InvariantCulture);
            schema["maximum"] = Convert.ToInt64(range.Maximum, CultureInfo.InvariantCulture);
        }
        if (f.Default is { } d)
            schema["default"] = f.Type switch
            {
                "integer" => int.Parse(d, CultureInfo.InvariantCulture),
                "boolean" => d == "true",
                _ when d == "[]" => new JsonArray(),
                _ => d,
            };
        return schema;
    }

    /// <summary>The reference page, docs/cluster-yaml.md: every field with its type, default and meaning.</summary>
    public static string Markdown()
    {
        var text = new StringBuilder();
        text.Append("""
            # cluster.yaml reference

            Generated from the types that read the file (`src/Airgap/Clusters/ClusterConfig.cs`) by
            `make docs`; a test fails when this page and the code differ. `airgap cluster init-config` prints a
            commented example, `airgap cluster init-config --schema` this reference as a JSON schema (for
            editors: `# yaml-language-server: $schema=cluster.schema.json` on the first line). A field that is
            not listed here is refused, as are values outside the ones listed.

            | Field | Type | Default | Meaning |
            |---|---|---|---|

            """);
        foreach (var f in All())
        {
            var type = f.Type + (f.Allowed.Count > 0 ? ": " + string.Join(", ", f.Allowed.Select(a => $"`{a}`")) : "")
                       + (f.Range is { } r ? $" ({r.Minimum}–{r.Maximum})" : "");
            var fallback = f.Required ? "required" : f.Default is null ? "" : $"`{f.Default}`";
            text.Append(CultureInfo.InvariantCulture, $"| `{f.Path}` | {type} | {fallback} | {f.Description.Replace("|", "\\|", StringComparison.Ordinal)} |\n");
        }
        return text.ToString();
    }
}
