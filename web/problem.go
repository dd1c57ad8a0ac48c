package web

import (
	"errors"
	"log/slog"
	"math"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"casefile.dev/casefile/internal/errs"
)

const problemBase = "https://casefile.dev/problems/"

// problem is an RFC 9457 problem document.
type problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
}

var statusOf = map[errs.Code]int{
	errs.Invalid:            fiber.StatusBadRequest,
	errs.Unauthenticated:    fiber.StatusUnauthorized,
	errs.Forbidden:          fiber.StatusForbidden,
	errs.NotFound:           fiber.StatusNotFound,
	errs.Conflict:           fiber.StatusConflict,
	errs.PreconditionFailed: fiber.StatusPreconditionFailed,
	errs.PreconditionNeeded: fiber.StatusPreconditionRequired,
	errs.RateLimited:        fiber.StatusTooManyRequests,
	errs.PayloadTooLarge:    fiber.StatusRequestEntityTooLarge,
	errs.Internal:           fiber.StatusInternalServerError,
}

var titleOf = map[errs.Code]string{
	errs.Invalid:            "Invalid request",
	errs.Unauthenticated:    "Authentication required",
	errs.Forbidden:          "Forbidden",
	errs.NotFound:           "Not found",
	errs.Conflict:           "Conflict",
	errs.PreconditionFailed: "Precondition failed",
	errs.PreconditionNeeded: "Precondition required",
	errs.RateLimited:        "Too many requests",
	errs.PayloadTooLarge:    "Payload too large",
	errs.Internal:           "Internal error",
}

// codeOfStatus classifies errors Fiber and fasthttp raise themselves.
func codeOfStatus(status int) errs.Code {
	switch status {
	case fiber.StatusBadRequest, fiber.StatusUnsupportedMediaType:
		return errs.Invalid
	case fiber.StatusUnauthorized:
		return errs.Unauthenticated
	case fiber.StatusForbidden:
		return errs.Forbidden
	case fiber.StatusNotFound, fiber.StatusMethodNotAllowed:
		return errs.NotFound
	case fiber.StatusRequestEntityTooLarge, fiber.StatusRequestHeaderFieldsTooLarge, fiber.StatusRequestURITooLong:
		return errs.PayloadTooLarge
	case fiber.StatusTooManyRequests:
		return errs.RateLimited
	}
	return errs.Internal
}

// errorHandler turns every error into problem+json. Internal errors are
// logged with the request id and shown to the client only as "internal".
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		if requestID(c) == "" {
			// fasthttp refused the request before any middleware ran (431,
			// 413): the answer still carries what every response carries.
			assignRequestID(c)
			setSecurityHeaders(c)
		}
		p := problem{Instance: c.Path(), RequestID: requestID(c)}
		var (
			fe *fiber.Error
			ae *errs.Error
		)
		code := errs.Internal
		switch {
		case errors.As(err, &ae):
			code = ae.Code
			p.Status = statusOf[code]
			p.Detail = ae.Message
			p.Errors = ae.Fields
			if ae.RetryAfter > 0 {
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(ae.RetryAfter.Seconds()))))
			}
		case errors.As(err, &fe):
			code = codeOfStatus(fe.Code)
			p.Status = fe.Code
			if code == errs.Internal {
				p.Status = fiber.StatusInternalServerError
			} else {
				p.Detail = fe.Message
			}
		}
		if code == errs.Internal {
			p.Status = fiber.StatusInternalServerError
			p.Detail = "something went wrong on our side; quote the request id when reporting it"
			log.ErrorContext(c.UserContext(), "internal error", "request_id", p.RequestID, "path", c.Path(), "err", err.Error())
		}
		if p.Status == 0 {
			p.Status = statusOf[code]
		}
		if u := uiFor(c); u != nil {
			return u.errorPage(c, code, p.Status, p.Detail)
		}
		p.Type = problemBase + string(code)
		p.Title = titleOf[code]
		c.Set(fiber.HeaderContentType, "application/problem+json")
		b, merr := c.App().Config().JSONEncoder(p)
		if merr != nil {
			return c.Status(fiber.StatusInternalServerError).SendString(`{"type":"` + problemBase + `internal","status":500}`)
		}
		return c.Status(p.Status).Send(b)
	}
}
