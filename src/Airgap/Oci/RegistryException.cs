using System.Net;

namespace Airgap.Oci;

/// <summary>A registry answered with an error, or could not be reached. <see cref="Status"/> is null when no HTTP answer came.</summary>
public sealed class RegistryException : AirgapException
{
    public HttpStatusCode? Status { get; }
    public string Place { get; }

    public RegistryException(string place, HttpStatusCode? status, string message, Exception? inner = null)
        : base(message, inner ?? new Exception(message))
    {
        Place = place;
        Status = status;
    }

    /// <summary>No answer, or one that says "try again" (408, 429, 5xx): worth retrying, unlike a refusal.</summary>
    public bool Transient => Status is null or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)Status >= 500;

    /// <summary>Short form for lists of tried places: "404 manifest unknown", "connection refused".</summary>
    public string Brief { get; init; } = "";
}
