! einstream from Fortran: c = a b and a contraction over a strided section,
! with the error path. Build: see README.md ("C and Fortran").
program einstream_example
  use einstream
  implicit none
  integer, parameter :: n = 4, k = 3, m = 2
  real(8), target :: a(n, k), b(k, m), c(n, m), v(k)
  type(einstream_plan) :: plan
  character(len=:), allocatable :: message
  integer :: status, i, j

  a = reshape([(real(i, 8), i = 1, n * k)], [n, k])
  b = reshape([(real(j, 8), j = 1, k * m)], [k, m])

  ! Arrays are read in place, column-major: modes name the dimensions as
  ! Fortran declares them.
  call einstream_einsum('ij,jk->ik', [einstream_tensor(a), einstream_tensor(b)], &
                        einstream_tensor(c), status, message)
  if (status /= einstream_ok) error stop 'einsum failed'
  print '(a, es10.3)', 'max |c - matmul(a, b)| = ', maxval(abs(c - matmul(a, b)))

  ! Plan once, execute many times; every other row of a, no copy.
  call einstream_plan_create(plan, 'ij->j', [einstream_tensor(a(1:n:2, :))], &
                             einstream_tensor(v), status, message)
  if (status /= einstream_ok) error stop 'plan failed'
  call einstream_plan_execute(plan, [einstream_tensor(a(1:n:2, :))], einstream_tensor(v), &
                              status, message, alpha=2.0d0)
  print '(a, 3f8.1)', '2 * sum(a(1:n:2, :), dim=1) = ', v
  print '(a)', einstream_explain(plan)
  call einstream_plan_destroy(plan)

  ! Errors come back as a status and a message (or stop the program when no
  ! status argument is given).
  call einstream_einsum('ij,jk->ik', [einstream_tensor(a), einstream_tensor(a)], &
                        einstream_tensor(c), status, message)
  print '(a, i0, a, a)', 'a a^T with the wrong shapes: status ', status, ': ', message
end program einstream_example
