! The Fortran module against intrinsic matmul and sums: every element type,
! strided and reversed sections read in place, alpha and beta, plans reused,
! and the error path (status and message, a plan used with other arrays).
program fortran_test
  use, intrinsic :: iso_c_binding, only: c_float, c_double, c_float_complex, c_double_complex, &
                                         c_int32_t, c_loc, c_associated
  use einstream
  implicit none
  integer :: failures = 0

  call test_matmul_real4()
  call test_matmul_real8()
  call test_matmul_complex4()
  call test_matmul_complex8()
  call test_strided_sections()
  call test_plan_reuse_and_scalars()
  call test_errors()
  call test_device_list()
  call test_given_path()
  if (failures /= 0) then
    print '(a, i0, a)', 'fortran_test: ', failures, ' check(s) failed'
    error stop 1
  end if
  print '(a, a, a)', 'fortran_test: all checks passed (einstream ', einstream_version(), ')'

contains

  subroutine check(condition, what)
    logical, intent(in) :: condition
    character(len=*), intent(in) :: what
    if (.not. condition) then
      print '(a, a)', 'check failed: ', what
      failures = failures + 1
    end if
  end subroutine check

  ! options%devices and n_devices: defaults none; a list reaches the plan
  ! (the host backend ignores it); a negative count is an invalid argument.
  subroutine test_device_list()
    real(c_double), target :: a(4, 3), b(3, 2), c(4, 2)
    integer(c_int32_t), target :: devices(2) = [0_c_int32_t, 0_c_int32_t]
    type(einstream_options) :: options
    integer :: status
    character(len=:), allocatable :: message
    options = host_options()
    call check(.not. c_associated(options%devices) .and. options%n_devices == 0, &
               'default device list')
    call random_number(a)
    call random_number(b)
    options%devices = c_loc(devices)
    options%n_devices = 2
    call einstream_einsum('ij,jk->ik', [einstream_tensor(a), einstream_tensor(b)], &
                          einstream_tensor(c), status, message, options=options)
    call check(status == einstream_ok, 'device list: ' // message)
    call check(maxval(abs(c - matmul(a, b))) < 1d-12, 'device list values')
    options%n_devices = -1
    call einstream_einsum('ij,jk->ik', [einstream_tensor(a), einstream_tensor(b)], &
                          einstream_tensor(c), status, message, options=options)
    call check(status == einstream_invalid_argument, 'n_devices -1 status')
    call check(index(message, 'n_devices is -1') > 0, 'n_devices -1 message: ' // message)
  end subroutine test_device_list

  ! options%given_path: a path of two steps (left to right) is run as given;
  ! a position out of range is an invalid argument naming the step.
  subroutine test_given_path()
    real(c_double), target :: a(4, 3), b(3, 2), v(2), c(4)
    integer(c_int32_t), target :: steps(2, 2)
    type(einstream_options) :: options
    integer :: status
    character(len=:), allocatable :: message
    options = host_options()
    call check(.not. c_associated(options%given_path) .and. options%n_given_path_steps == 0, &
               'default given path')
    call random_number(a)
    call random_number(b)
    call random_number(v)
    steps = reshape([0_c_int32_t, 1_c_int32_t, 0_c_int32_t, 1_c_int32_t], [2, 2])
    options%given_path = c_loc(steps)
    options%n_given_path_steps = 2
    call einstream_einsum('ij,jk,k->i', [einstream_tensor(a), einstream_tensor(b), &
                          einstream_tensor(v)], einstream_tensor(c), status, message, &
                          options=options)
    call check(status == einstream_ok, 'given path: ' // message)
    call check(maxval(abs(c - matmul(matmul(a, b), v))) < 1d-12, 'given path values')
    steps(2, 2) = 2
    call einstream_einsum('ij,jk,k->i', [einstream_tensor(a), einstream_tensor(b), &
                          einstream_tensor(v)], einstream_tensor(c), status, message, &
                          options=options)
    call check(status == einstream_invalid_argument, 'given path out of range status')
    call check(index(message, 'given_path step 1 names operand 2') > 0, &
               'given path out of range message: ' // message)
  end subroutine test_given_path

  function host_options() result(options)
    type(einstream_options) :: options
    options = einstream_default_options()
    options%backend = einstream_backend_host
  end function host_options

  subroutine test_matmul_real4()
    real(c_float), allocatable, target :: a(:,:), b(:,:), c(:,:)
    integer :: status
    character(len=:), allocatable :: message
    allocate(a(5, 7), b(7, 3), c(5, 3))
    call random_number(a)
    call random_number(b)
    call einstream_einsum('ij,jk->ik', [einstream_tensor(a), einstream_tensor(b)], &
                          einstream_tensor(c), status, message, options=host_options())
    call check(status == einstream_ok, 'real(4) matmul: ' // message)
    call check(maxval(abs(c - matmul(a, b))) < 1e-5, 'real(4) matmul values')
  end subroutine test_matmul_real4

  subroutine test_matmul_real8()
    real(c_double), target :: a(6, 4), b(4, 5), c(6, 5)
    integer :: status
    call random_number(a)
    call random_number(b)
    call einstream_einsum('ij,jk->ik', [einstream_tensor(a), einstream_tensor(b)], &
                          einstream_tensor(c), status, options=host_options())
    call check(status == einstream_ok, 'real(8) matmul status')
    call check(maxval(abs(c - matmul(a, b))) < 1d-12, 'real(8) matmul values')
    ! The transpose of a product, by naming the output's modes the other way.
    block
      real(c_double), target :: ct(5, 6)
      call einstream_einsum('ij,jk->ki', [einstream_tensor(a), einstream_tensor(b)], &
                            einstream_tensor(ct), status, options=host_options())
      call check(maxval(abs(ct - transpose(matmul(a, b)))) < 1d-12, 'real(8) transposed product')
    end block
  end subroutine test_matmul_real8

  subroutine test_matmul_complex4()
    complex(c_float_complex), target :: a(3, 4), b(4, 2), c(3, 2)
    real(c_float) :: re(3, 4), im(3, 4), re2(4, 2), im2(4, 2)
    integer :: status
    call random_number(re)
    call random_number(im)
    call random_number(re2)
    call random_number(im2)
    a = cmplx(re, im, c_float_complex)
    b = cmplx(re2, im2, c_float_complex)
    call einstream_einsum('ij,jk->ik', [einstream_tensor(a), einstream_tensor(b)], &
                          einstream_tensor(c), status, options=host_options())
    call check(status == einstream_ok, 'complex(4) matmul status')
    call check(maxval(abs(c - matmul(a, b))) < 1e-5, 'complex(4) matmul values')
  end subroutine test_matmul_complex4

  subroutine test_matmul_complex8()
    complex(c_double_complex), target :: a(3, 4), b(4, 2), c(3, 2), dot
    real(c_double) :: re(3, 4), im(3, 4), re2(4, 2), im2(4, 2)
    integer :: status
    call random_number(re)
    call random_number(im)
    call random_number(re2)
    call random_number(im2)
    a = cmplx(re, im, c_double_complex)
    b = cmplx(re2, im2, c_double_complex)
    c = (1d0, 1d0)
    ! c = (0, 1) a b + 2 c
    call einstream_einsum('ij,jk->ik', [einstream_tensor(a), einstream_tensor(b)], &
                          einstream_tensor(c), status, alpha=(0d0, 1d0), beta=2, &
                          options=host_options())
    call check(status == einstream_ok, 'complex(8) matmul status')
    call check(maxval(abs(c - ((0d0, 1d0) * matmul(a, b) + 2 * (1d0, 1d0)))) < 1d-12, &
               'complex(8) alpha a b + beta c')
    ! A rank-0 output: sum of all a(i,j) b(j,1)... as a full contraction.
    call einstream_einsum('ij,jk->', [einstream_tensor(a), einstream_tensor(b)], &
                          einstream_tensor(dot), status, options=host_options())
    call check(abs(dot - sum(matmul(a, b))) < 1d-12, 'complex(8) scalar output')
  end subroutine test_matmul_complex8

  ! Sections keep their parent's memory: every other row, every third plane,
  ! a reversed axis and a section of the output.
  subroutine test_strided_sections()
    integer, parameter :: n = 9, m = 4, p = 7
    real(c_double), target :: a(n, m), b(m, n), c(5, n), x(n, m, p), y(m, 3), s(n)
    real(c_double) :: expected(n)
    integer :: status, i, j, k
    character(len=:), allocatable :: message
    call random_number(a)
    call random_number(b)
    call random_number(x)
    call random_number(y)
    c = -1
    ! c(1:5, :) = a(1:n:2, :) b
    call einstream_einsum('ij,jk->ik', [einstream_tensor(a(1:n:2, :)), einstream_tensor(b)], &
                          einstream_tensor(c), status, message, options=host_options())
    call check(status == einstream_ok, 'strided matmul: ' // message)
    call check(maxval(abs(c - matmul(a(1:n:2, :), b))) < 1d-12, 'a(1:n:2, :) b')
    ! b with its columns reversed (negative stride), into every other column of c.
    c = 0
    call einstream_einsum('ij,jk->ik', [einstream_tensor(a(1:n:2, :)), &
                          einstream_tensor(b(:, n:1:-1))], einstream_tensor(c), status, &
                          options=host_options())
    call check(maxval(abs(c - matmul(a(1:n:2, :), b(:, n:1:-1)))) < 1d-12, 'b(:, n:1:-1)')
    ! s(i) = sum_j sum_k x(i, j, k) y(j, k) over every third plane of x.
    call einstream_einsum('ijk,jk->i', [einstream_tensor(x(:, :, 1:p:3)), einstream_tensor(y)], &
                          einstream_tensor(s), status, message, options=host_options())
    call check(status == einstream_ok, 'strided contraction: ' // message)
    do i = 1, n
      expected(i) = 0
      do k = 1, 3
        do j = 1, m
          expected(i) = expected(i) + x(i, j, 1 + 3 * (k - 1)) * y(j, k)
        end do
      end do
    end do
    call check(maxval(abs(s - expected)) < 1d-12, 'x(:, :, 1:p:3) y')
    ! A diagonal written into every other element of s.
    s = 7
    call einstream_einsum('ii->i', [einstream_tensor(a(1:m, :))], einstream_tensor(s(1:2*m:2)), &
                          status, options=host_options())
    call check(all([(abs(s(2 * i - 1) - a(i, i)) < 1d-15, i = 1, m)]), 'diagonal into s(1:2m:2)')
    call check(all(abs(s(2:2*m:2) - 7) < 1d-15), 'elements between the section are untouched')
  end subroutine test_strided_sections

  subroutine test_plan_reuse_and_scalars()
    real(c_float), target :: a(4, 3), b(3, 2), c(4, 2), d(4, 2)
    type(einstream_plan) :: plan
    integer :: status
    character(len=:), allocatable :: message, text
    integer(c_int32_t) :: steps(2, 1)
    call random_number(a)
    call random_number(b)
    call einstream_plan_create(plan, 'ij,jk->ik', [einstream_tensor(a), einstream_tensor(b)], &
                               einstream_tensor(c), status, message, host_options())
    call check(status == einstream_ok, 'plan create: ' // message)
    call einstream_plan_execute(plan, [einstream_tensor(a), einstream_tensor(b)], &
                                einstream_tensor(c), status, message)
    call check(status == einstream_ok, 'execute: ' // message)
    d = c
    ! c = 0.5 a b - c, then the same plan on other arrays of the same layout.
    call einstream_plan_execute(plan, [einstream_tensor(a), einstream_tensor(b)], &
                                einstream_tensor(c), status, message, alpha=0.5, beta=-1.0d0)
    call check(maxval(abs(c - (0.5 * matmul(a, b) - d))) < 1e-5, 'alpha 0.5, beta -1')
    call einstream_plan_execute(plan, [einstream_tensor(a), einstream_tensor(b)], &
                                einstream_tensor(d), status)
    call check(maxval(abs(d - matmul(a, b))) < 1e-5, 'plan on another output array')
    text = einstream_explain(plan, status)
    call check(status == einstream_ok .and. index(text, 'ij,jk->ik') > 0, 'explain names the expression')
    call check(einstream_workspace_bytes(plan) >= 0, 'workspace bytes')
    call check(all(shape(einstream_path(plan)) == [2, 1]), 'path shape')
    steps = einstream_path(plan, status)
    call check(status == einstream_ok, 'path status')
    call check(all(steps(:, 1) == [0, 1]), 'path of ij,jk->ik')
    ! A complex alpha on a real dtype: the C++ API's own check comes back.
    call einstream_plan_execute(plan, [einstream_tensor(a), einstream_tensor(b)], &
                                einstream_tensor(c), status, message, alpha=(1.0, 1.0))
    call check(status == einstream_invalid_argument, 'complex alpha on real data refused')
    call check(len(message) > 0, 'complex alpha message: ' // message)
    call einstream_plan_destroy(plan)
    call einstream_plan_destroy(plan)
    call einstream_plan_execute(plan, [einstream_tensor(a), einstream_tensor(b)], &
                                einstream_tensor(c), status, message)
    call check(status == einstream_invalid_argument .and. index(message, 'not created') > 0, &
               'execute after destroy: ' // message)
  end subroutine test_plan_reuse_and_scalars

  subroutine test_errors()
    real(c_double), target :: a(3, 4), b(5, 2), c(3, 2), e(6, 4)
    type(einstream_plan) :: plan
    integer :: status
    character(len=:), allocatable :: message
    a = 1
    b = 1
    ! j is 4 in a and 5 in b.
    call einstream_einsum('ij,jk->ik', [einstream_tensor(a), einstream_tensor(b)], &
                          einstream_tensor(c), status, message, options=host_options())
    call check(status == einstream_shape_error, 'shape error status')
    call check(index(message, "'j'") > 0, 'shape error names the mode: ' // message)
    call einstream_einsum('ij,jk->i!k', [einstream_tensor(a), einstream_tensor(b)], &
                          einstream_tensor(c), status, message, options=host_options())
    call check(status == einstream_parse_error, 'parse error status')
    call check(index(message, 'einstream_plan_create') > 0, 'parse error message: ' // message)
    ! A plan used with arrays of another layout is refused before the C API runs.
    call einstream_plan_create(plan, 'ij->j', [einstream_tensor(e(1:3, :))], &
                               einstream_tensor(a(1, :)), status, message, host_options())
    call check(status == einstream_ok, 'plan for a section: ' // message)
    call einstream_plan_execute(plan, [einstream_tensor(a)], einstream_tensor(a(1, :)), status, &
                                message)
    call check(status == einstream_invalid_argument, 'other layout refused')
    call check(index(message, 'strides [1,6]') > 0, 'layout message: ' // message)
    call einstream_plan_execute(plan, [einstream_tensor(a), einstream_tensor(a)], &
                                einstream_tensor(a(1, :)), status, message)
    call check(status == einstream_invalid_argument .and. index(message, '2 inputs') > 0, &
               'input count message: ' // message)
    call einstream_plan_destroy(plan)
  end subroutine test_errors

end program fortran_test
