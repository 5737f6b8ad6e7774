using Xunit.Abstractions;
using Xunit.Sdk;

namespace CurWorkflows.Storage.Tests;

/// <summary>Marks a test class whose database is the PostgreSQL server named by CURWORKFLOWS_TEST_POSTGRES.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RequiresPostgreSqlAttribute : Attribute
{
    public const string EnvironmentVariable = "CURWORKFLOWS_TEST_POSTGRES";

    public static string? ConnectionString =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } value ? value : null;
}

/// <summary>A fact that is skipped, and only skipped, when its class needs PostgreSQL and the variable is unset.</summary>
[XunitTestCaseDiscoverer("CurWorkflows.Storage.Tests.StorageFactDiscoverer", "CurWorkflows.Storage.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StorageFactAttribute : FactAttribute;

public sealed class StorageFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    private readonly FactDiscoverer _facts = new(diagnosticMessageSink);

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var needsPostgreSql = testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresPostgreSqlAttribute)).Any();
        if (needsPostgreSql && RequiresPostgreSqlAttribute.ConnectionString is null)
        {
            return
            [
                new XunitSkippedDataRowTestCase(
                    diagnosticMessageSink,
                    discoveryOptions.MethodDisplayOrDefault(),
                    discoveryOptions.MethodDisplayOptionsOrDefault(),
                    testMethod,
                    $"{RequiresPostgreSqlAttribute.EnvironmentVariable} is not set"),
            ];
        }

        return _facts.Discover(discoveryOptions, testMethod, factAttribute);
    }
}
